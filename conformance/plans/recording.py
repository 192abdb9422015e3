"""Recording fake SDK objects: what a wrapper's functions called, in order, with copies of the arguments.

:class:`RecordingClient` stands in for a client SDK session (``track``, ``identify``,
``reset``, as :class:`~conformance.adapters.protocol.ClientSession`); :class:`RecordingServer`
for a server SDK (``track`` and ``identify`` with keyword ids, as
:class:`~conformance.adapters.protocol.Adapter`). They accept any value and never refuse, so
whatever a wrapper passes is what :mod:`conformance.plans.wrapper` sees.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

import attrs


@attrs.frozen
class Call:
    """One call a wrapper made on the SDK object; ``server`` calls carry ids as keywords."""

    op: str
    name: Any = None
    properties: Any = None
    user_id: Any = None
    anonymous_id: Any = None
    traits: Any = None
    server: bool = False

    def __str__(self) -> str:
        """The call as Python: ``identify('u-1', {})``, ``track('X', {...}, user_id=..., anonymous_id=...)``."""
        if self.op == "reset":
            return "reset()"
        if self.op == "track":
            head = f"track({self.name!r}, {self.properties!r}"
        elif self.server:
            head = "identify("
        else:
            head = f"identify({self.user_id!r}, {self.traits!r}"
        if not self.server:
            return head + ")"
        ids = f"user_id={self.user_id!r}, anonymous_id={self.anonymous_id!r}"
        if self.op == "track":
            return f"{head}, {ids})"
        return f"{head}{ids}, traits={self.traits!r})"


def _copied(value: Any) -> Any:
    """A deep copy of a mapping argument (so a later change to it cannot alter the record)."""
    if isinstance(value, Mapping):
        try:
            return copy.deepcopy(dict(value))
        except Exception:  # noqa: BLE001  (a value that cannot be copied is recorded as given)
            return dict(value)
    return value


class RecordingClient:
    """A client SDK session that records ``track``, ``identify`` and ``reset`` calls."""

    def __init__(self) -> None:
        self.calls: list[Call] = []

    def track(self, name: str, properties: Mapping[str, Any]) -> None:
        """Record ``track(name, properties)``."""
        self.calls.append(Call("track", name=name, properties=_copied(properties)))

    def identify(self, user_id: str, traits: Mapping[str, Any]) -> None:
        """Record ``identify(user_id, traits)``."""
        self.calls.append(Call("identify", user_id=user_id, traits=_copied(traits)))

    def reset(self) -> None:
        """Record ``reset()``."""
        self.calls.append(Call("reset"))


class RecordingServer:
    """A server SDK that records ``track`` and ``identify`` calls with the ids they were given."""

    def __init__(self) -> None:
        self.calls: list[Call] = []

    def track(
        self,
        event: str,
        properties: Mapping[str, Any],
        *,
        user_id: str | None,
        anonymous_id: str | None,
    ) -> None:
        """Record ``track(event, properties, user_id=..., anonymous_id=...)``."""
        self.calls.append(Call("track", name=event, properties=_copied(properties),
                               user_id=user_id, anonymous_id=anonymous_id, server=True))  # fmt: skip

    def identify(
        self, *, user_id: str | None, anonymous_id: str | None, traits: Mapping[str, Any]
    ) -> None:
        """Record ``identify(user_id=..., anonymous_id=..., traits=...)``."""
        self.calls.append(Call("identify", user_id=user_id, anonymous_id=anonymous_id,
                               traits=_copied(traits), server=True))  # fmt: skip
