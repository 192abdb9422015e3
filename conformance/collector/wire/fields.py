"""Field readers shared by the vendor decoders: typed lookups and timestamps.

Each reader names the place it read (``batch[0].userId``) and the bad value in its
:class:`~conformance.collector.wire.common.WireError`. Canonical timestamps are epoch
**milliseconds**: ISO-8601 strings are converted (naive ones read as UTC), and epoch numbers
below 1e11 are read as seconds where the vendor documents seconds.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any, Final

from conformance.collector.wire.common import WireError, show


def as_object(value: Any, where: str, expected: str = "a JSON object") -> dict[str, Any]:
    """``value`` if it is a JSON object; else 400 naming ``where``."""
    if not isinstance(value, dict):
        msg = f"{where} must be {expected}, got {show(value)}"
        raise WireError(msg)
    return value


def as_list(value: Any, where: str) -> list[Any]:
    """``value`` if it is a JSON array; else 400 naming ``where``."""
    if not isinstance(value, list):
        msg = f"{where} must be a JSON array, got {show(value)}"
        raise WireError(msg)
    return value


def opt_str(obj: Mapping[str, Any], key: str, where: str) -> str | None:
    """``obj[key]`` if it is a string or missing or null (then ``None``); else 400."""
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    msg = f"{where}.{key} must be a string or null, got {show(value)}"
    raise WireError(msg)


def req_str(obj: Mapping[str, Any], key: str, where: str) -> str:
    """``obj[key]``, which must be a string; else 400."""
    value = obj.get(key)
    if isinstance(value, str):
        return value
    msg = f"{where}.{key} must be a string, got {show(value)}"
    raise WireError(msg)


def opt_dict(obj: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    """``obj[key]`` if it is a JSON object, ``{}`` if missing or null; else 400."""
    value = obj.get(key)
    if value is None:
        return {}
    return as_object(value, f"{where}.{key}", "a JSON object or null")


_ISO_8601: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})"
    r"(?::([0-9]{2})(?:[.,]([0-9]{1,12}))?)?"
    r"\s*(Z|z|[+-][0-9]{2}(?::?[0-9]{2})?)?",
    re.ASCII,
)
_EPOCH: Final = datetime(1970, 1, 1)  # noqa: DTZ001 - naive on purpose; offsets applied by hand
_ONE_MS: Final = timedelta(milliseconds=1)
_SECONDS_BELOW: Final = 1e11  # epoch values below this are seconds (year 5138), above are ms


def iso_ms(value: Any, where: str) -> int | None:
    """Convert an ISO-8601 timestamp to epoch ms; naive times are UTC."""
    if value is None:
        return None
    match = _ISO_8601.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        msg = f"{where} must be an ISO-8601 timestamp string, got {show(value)}"
        raise WireError(msg)
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        moment = datetime(  # noqa: DTZ001 - naive on purpose; offsets applied by hand
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0)
        )
    except ValueError as exc:
        msg = f"{where} must be a valid ISO-8601 timestamp ({exc}), got {show(value)}"
        raise WireError(msg) from None
    millis = (moment - _EPOCH) // _ONE_MS + int(((fraction or "") + "000")[:3])
    if offset and offset not in {"Z", "z"}:
        digits = offset[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + int(digits[2:] or 0)
        millis -= (minutes if offset[0] == "+" else -minutes) * 60_000
    return millis


def _number(value: Any, where: str) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        msg = f"{where} must be a number, got {show(value)}"
        raise WireError(msg)
    if isinstance(value, float) and not math.isfinite(value * 1000):
        msg = f"{where} must be a finite epoch time, got {show(value)}"
        raise WireError(msg)
    return value


def epoch_ms(value: Any, where: str, *, seconds_if_small: bool) -> int | None:
    """An epoch number as ms (read as seconds below 1e11 when ``seconds_if_small``)."""
    number = _number(value, where)
    if number is None:
        return None
    if seconds_if_small and abs(number) < _SECONDS_BELOW:
        return round(number * 1000)
    return round(number)


def without(props: Mapping[str, Any], *drops: frozenset[str] | set[str]) -> dict[str, Any]:
    """``props`` without the keys in any of ``drops``."""
    return {key: value for key, value in props.items() if not any(key in d for d in drops)}


_EXACT_INTEGERS: Final = 2**53
"""Beyond this a JavaScript number (a double) is no longer an exact integer."""


def js_numbers(doc: Any) -> Any:
    """``doc`` with every integer beyond 2**53 read as the double a JavaScript SDK sent.

    A browser SDK's numbers are doubles, and ``JSON.stringify`` writes a whole double
    below 1e21 in plain digits (``-1.0004922219186094e+18`` as ``-1000492221918609400``):
    read as a Python int that is another number, so it is read as the double it denotes,
    the value that was passed. Integers up to 2**53 are exact either way and stay ints.
    """
    stack: list[Any] = [doc] if isinstance(doc, (dict, list)) else []
    while stack:
        node = stack.pop()
        for key, value in enumerate(node) if isinstance(node, list) else node.items():
            if type(value) is int and abs(value) > _EXACT_INTEGERS:
                try:
                    node[key] = float(value)
                except OverflowError:
                    msg = f"the body holds the integer {show(value)}, beyond any JavaScript number"
                    raise WireError(msg) from None
            elif isinstance(value, (dict, list)):
                stack.append(value)
    return doc
