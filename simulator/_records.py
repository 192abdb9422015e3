"""Canonical records: the one event shape every SDK's wire format is decoded into."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import attrs

_EMPTY: Mapping[str, Any] = MappingProxyType({})


class Kind(str, enum.Enum):
    """What an event does to identity (knob 26 maps each vendor's names onto these)."""

    TRACK = "track"
    IDENTIFY = "identify"
    ALIAS = "alias"
    GROUP = "group"
    PAGE = "page"
    SCREEN = "screen"
    MERGE = "merge"

    def __repr__(self) -> str:
        return f"Kind.{self.name}"


@attrs.frozen(repr=False)
class Event:
    """One analytics event as it reached a collector, in vendor-neutral form.

    ``user_id`` and ``anonymous_id`` follow the dual-id model. ``device_id`` and
    ``distinct_id`` hold the vendors' own fields where their id model has them
    (Amplitude ``device_id``; PostHog and Mixpanel ``distinct_id`` / ``$device_id``).
    ``previous_id`` is the other side of an alias or merge.
    """

    kind: Kind
    name: str | None = None
    user_id: str | None = None
    anonymous_id: str | None = None
    device_id: str | None = None
    distinct_id: str | None = None
    previous_id: str | None = None
    group_id: str | None = None
    properties: Mapping[str, Any] = attrs.field(default=_EMPTY, eq=True)
    traits: Mapping[str, Any] = attrs.field(default=_EMPTY, eq=True)
    context: Mapping[str, Any] = attrs.field(default=_EMPTY, eq=True)
    """What the call said about its circumstances (Segment-style ``context``: ip, locale, ...)."""
    message_id: str | None = None
    timestamp: int | None = None
    source: str | None = attrs.field(default=None, eq=False)
    """Where the event came from (a client's storage key, ``server``, an HTTP path); debugging only."""

    @property
    def anonymous_key(self) -> str | None:
        """The id that stands for this device before it is identified, whatever the id model."""
        if self.anonymous_id is not None:
            return self.anonymous_id
        if self.device_id is not None:
            return self.device_id
        if self.distinct_id is not None and self.distinct_id != self.user_id:
            return self.distinct_id
        return None

    def __repr__(self) -> str:
        """Only the fields that are set, so a shrunk example pastes back as Python."""
        parts = [f"kind={self.kind!r}"]
        for field in attrs.fields(Event)[1:]:
            value = getattr(self, field.name)
            if value is None or (isinstance(value, Mapping) and not value):
                continue
            shown = dict(value) if isinstance(value, Mapping) else value
            parts.append(f"{field.name}={shown!r}")
        return f"Event({', '.join(parts)})"

    def to_json(self) -> dict[str, Any]:
        """A JSON-ready dict; ``None`` fields and empty mappings are left out."""
        out: dict[str, Any] = {"kind": self.kind.value}
        for field in attrs.fields(Event)[1:]:
            value = getattr(self, field.name)
            if value is None or (isinstance(value, Mapping) and not value):
                continue
            out[field.name] = dict(value) if isinstance(value, Mapping) else value
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Event:
        """Inverse of :meth:`to_json`."""
        fields = {k: v for k, v in data.items() if k != "kind"}
        return cls(kind=Kind(data["kind"]), **fields)
