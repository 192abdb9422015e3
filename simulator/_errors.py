"""Errors raised by the reference simulator; each names the bad value, its type and the fix."""

from __future__ import annotations

from typing import Any


class SimulatorError(Exception):
    """Root of every error the simulator raises on purpose."""


class InvalidArgumentError(SimulatorError, TypeError):
    """An argument had the wrong type (also a ``TypeError``)."""


class InvalidValueError(SimulatorError, ValueError):
    """An argument had the right type but a forbidden value (also a ``ValueError``)."""


class MissingIdentityError(InvalidValueError):
    """A server call named neither a user id nor an anonymous id."""


class UnknownProfileError(SimulatorError, LookupError):
    """A profile name that is not registered (also a ``LookupError``)."""


def describe(value: Any) -> str:
    """``'x' of type str``: how every message shows a bad value."""
    return f"{value!r} of type {type(value).__name__}"


def check_id(value: Any, name: str, fix: str, *, optional: bool = False) -> str | None:
    """Return ``value`` if it is a usable id, else raise naming it, its type and ``fix``."""
    if value is None and optional:
        return None
    if type(value) is not str and not isinstance(value, str):
        msg = f"{name} must be a non-empty str (got {describe(value)}). {fix}"
        raise InvalidArgumentError(msg)
    if not value:
        msg = f"{name} must be a non-empty str (got {describe(value)}). {fix}"
        raise InvalidValueError(msg)
    return value


def check_mapping(value: Any, name: str) -> None:
    """Raise unless ``value`` is ``None`` or a mapping with str keys."""
    if value is None:
        return
    if type(value) is dict:  # the common case, without the slow ABC check
        for key in value:
            if type(key) is not str:
                break
        else:
            return
    from collections.abc import Mapping  # noqa: PLC0415  (only reached on the slow path)

    if not isinstance(value, Mapping) or not all(isinstance(k, str) for k in value):
        msg = (
            f"{name} must be a mapping with str keys, or None (got {describe(value)}). "
            f"Pass a dict such as {{'plan': 'pro'}}."
        )
        raise InvalidArgumentError(msg)
