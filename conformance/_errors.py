"""The one error root of the conformance package, and its usage-error subclasses."""

from __future__ import annotations

from typing import Any


class ConformanceError(Exception):
    """Root of every error this package raises on purpose."""


class InvalidAdapterError(ConformanceError, TypeError):
    """An adapter factory or adapter that does not satisfy the Adapter protocol."""


class UnknownAdapterError(ConformanceError, LookupError):
    """An adapter name that no built-in, mutant or entry point provides."""


class InvalidInputError(ConformanceError, ValueError):
    """A bad option, file or trace given to the suite."""


class AdapterFailedError(ConformanceError):
    """The adapter (or the SDK behind it) crashed, hung or answered garbage: an ERROR verdict."""


class DeliveryFailedError(ConformanceError):
    """The collector refused a delivery on purpose (fault injection); the SDK should retry."""


def describe(value: Any) -> str:
    """``'x' of type str``: how every message shows a bad value."""
    return f"{value!r} of type {type(value).__name__}"
