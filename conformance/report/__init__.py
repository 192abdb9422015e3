"""Report writers (console, JSON, Markdown) over the engine's events, the SDK matrix and the mutant sweep."""
