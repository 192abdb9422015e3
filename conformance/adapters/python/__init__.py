"""One module per released Python SDK, each importing its SDK lazily."""
