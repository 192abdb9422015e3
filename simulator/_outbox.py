"""The reference SDKs' send queue: calls append a tuple; flush turns tuples into events.

Building an :class:`Event` costs several times more than appending a tuple, so the hot
path (``track``) only appends, and records are built once, at flush. The ids a call carries
travel as one tuple (:data:`WireIds`) that a client rebuilds only when its identity changes,
so a track call reads one attribute for all of them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import attrs

from simulator._records import Event, Kind

_SCALARS = frozenset({str, int, float, bool, type(None)})
_EMPTY: Mapping[str, Any] = MappingProxyType({})

WireIds = tuple["str | None", "str | None", "str | None", "str | None", "str | None"]
"""The ids a call carries: user id, anonymous id, device id, distinct id, and its source."""
Given = tuple["int | None", "str | None", "Mapping[str, Any]"]
"""What a call gave beside its data: timestamp (epoch ms), message id, context."""
Pending = tuple[
    Kind, "str | None", WireIds, "str | None", "str | None", "Mapping[str, Any]", "Mapping[str, Any]",
    "Given | None",
]
"""A queued call: kind, name, :data:`WireIds`, previous id, group id, properties, traits, and
:data:`Given` (``None`` for a call that gave none of it, the hot path's case)."""


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


def snapshot_value(value: Any) -> Any:
    """A copy of any argument value (scalar, mapping, list) that later changes cannot reach."""
    return _deep_copy(value)


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
                kind=kind,
                name=name,
                user_id=ids[0],
                anonymous_id=ids[1],
                device_id=ids[2],
                distinct_id=ids[3],
                previous_id=previous_id,
                group_id=group_id,
                properties=properties,
                traits=traits,
                source=ids[4],
                context=given[2] if given else _EMPTY,
                message_id=given[1] if given and given[1] is not None else f"msg-{base + i:06d}",
                timestamp=given[0] if given and given[0] is not None else base + i,
            )
            for i, (kind, name, ids, previous_id, group_id, properties, traits, given) in enumerate(pending)
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
