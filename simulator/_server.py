"""The reference server SDK: no identity kept; every call names its own ids."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from simulator._errors import MissingIdentityError, check_id, check_mapping, describe
from simulator._outbox import _EMPTY, Outbox, snapshot
from simulator._records import Kind

_SOURCE = "server"
_IDS_FIX = "Pass a non-empty str or leave it None; at least one id is required."


def _check_ids(user_id: object, anonymous_id: object, call: str) -> None:
    check_id(user_id, "user_id", _IDS_FIX, optional=True)
    check_id(anonymous_id, "anonymous_id", _IDS_FIX, optional=True)
    if user_id is None and anonymous_id is None:
        msg = (
            f"{call} needs user_id or anonymous_id (got user_id={describe(user_id)}, "
            f"anonymous_id={describe(anonymous_id)}). A server SDK keeps no identity: pass the "
            f"user's id, or the anonymous id the client assigned, e.g. "
            f"{call}(..., user_id='user-42')."
        )
        raise MissingIdentityError(msg)


class ReferenceServer:
    """Stateless server-side calls: the output of a call depends on that call alone."""

    __slots__ = ("_queue",)

    def __init__(self, outbox: Outbox) -> None:
        self._queue = outbox.pending

    def __repr__(self) -> str:
        return "ReferenceServer()"

    def track(
        self,
        event: str,
        properties: Mapping[str, Any] | None = None,
        *,
        user_id: str | None = None,
        anonymous_id: str | None = None,
    ) -> None:
        """Send one event attributed to exactly the ids given."""
        _check_ids(user_id, anonymous_id, "track")
        check_id(event, "event", "Name the event, e.g. track('Signed Up', user_id='u1').")
        check_mapping(properties, "properties")
        self._queue.append(
            (Kind.TRACK, event, (user_id, anonymous_id, None, None, _SOURCE), None, None,
             snapshot(properties), _EMPTY)
        )  # fmt: skip

    def identify(
        self,
        user_id: str | None = None,
        traits: Mapping[str, Any] | None = None,
        *,
        anonymous_id: str | None = None,
    ) -> None:
        """Send an identify; it changes nothing for later calls."""
        _check_ids(user_id, anonymous_id, "identify")
        check_mapping(traits, "traits")
        self._queue.append(
            (Kind.IDENTIFY, None, (user_id, anonymous_id, None, None, _SOURCE), None, None,
             _EMPTY, snapshot(traits))
        )  # fmt: skip

    def alias(self, previous_id: str, user_id: str) -> None:
        """Declare that ``previous_id`` and ``user_id`` name the same person."""
        fix = "alias needs both ids, e.g. alias(previous_id='anon-1', user_id='user-42')."
        check_id(previous_id, "previous_id", fix)
        check_id(user_id, "user_id", fix)
        self._queue.append(
            (Kind.ALIAS, None, (user_id, None, None, None, _SOURCE), previous_id, None,
             _EMPTY, _EMPTY)
        )  # fmt: skip
