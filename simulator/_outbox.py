"""The reference SDKs' send queue: calls append a tuple; flush turns tuples into events.

Building an :class:`Event` costs several times more than appending a tuple, so the hot
path (``track``) only appends, and records are built once, at flush.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from simulator._records import Event, Kind

_SCALARS = frozenset({str, int, float, bool, type(None)})
_EMPTY: Mapping[str, Any] = MappingProxyType({})

# (kind, name, user_id, anonymous_id, device_id, distinct_id, previous_id, group_id,
#  properties, traits, source)
Pending = tuple[
    Kind,
    "str | None",
    "str | None",
    "str | None",
    "str | None",
    "str | None",
    "str | None",
    "str | None",
    "Mapping[str, Any]",
    "Mapping[str, Any]",
    "str | None",
]


def snapshot(value: Mapping[str, Any] | None) -> Mapping[str, Any]:
    """A copy of ``value`` that later changes to the caller's objects cannot reach."""
    if not value:
        return _EMPTY
    copied = dict(value)
    for item in copied.values():
        if type(item) not in _SCALARS:
            deep: Mapping[str, Any] = _deep_copy(copied)
            return deep
    return copied


def _deep_copy(value: Any) -> Any:
    kind = type(value)
    if kind in _SCALARS:  # exact types first: the ABC check below is slow
        return value
    if kind is dict or isinstance(value, Mapping):
        return {k: _deep_copy(v) for k, v in value.items()}
    if kind is list or isinstance(value, (list, tuple)):
        return [_deep_copy(v) for v in value]
    return value


class DeliveryError(Exception):
    """The collector did not acknowledge a batch; the outbox will retry it."""


@attrs.define
class Outbox:
    """Pending calls in call order, message ids and retry-with-the-same-id delivery."""

    deliver: Callable[[list[Event]], None] | None = None
    max_retries: int = 3
    pending: list[Pending] = attrs.Factory(list)
    _sent: int = 0

    def materialize(self) -> list[Event]:
        """Turn every pending call into an :class:`Event`, in call order, and clear the queue."""
        # Clients hold a reference to this list: empty it in place, never rebind it.
        pending = self.pending[:]
        del self.pending[: len(pending)]
        base = self._sent
        self._sent += len(pending)
        return [
            Event(
                kind=p[0],
                name=p[1],
                user_id=p[2],
                anonymous_id=p[3],
                device_id=p[4],
                distinct_id=p[5],
                previous_id=p[6],
                group_id=p[7],
                properties=p[8],
                traits=p[9],
                source=p[10],
                message_id=f"msg-{base + i:06d}",
                timestamp=base + i,
            )
            for i, p in enumerate(pending)
        ]

    def flush(self) -> list[Event]:
        """Deliver every pending call; retries resend the same events (same message ids)."""
        events = self.materialize()
        if events and self.deliver is not None:
            for attempt in range(self.max_retries + 1):
                try:
                    self.deliver(events)
                    break
                except DeliveryError:
                    if attempt == self.max_retries:
                        raise
        return events
