"""Adapters: the Protocol an SDK wrapper satisfies, the catalogue of adapters by name, the reference adapter and the real SDKs (``python/<vendor>.py``)."""
