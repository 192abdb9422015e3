"""The reference server SDK: no identity kept; every call names its own ids."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta, timezone
from typing import Any, cast

from simulator._errors import (
    InvalidArgumentError,
    MissingIdentityError,
    check_id,
    check_mapping,
    describe,
)
from simulator._outbox import _EMPTY, Given, Outbox, snapshot
from simulator._records import Kind

_SOURCE = "server"
_IDS_FIX = "Pass a non-empty str or leave it None; at least one id is required."


_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def epoch_ms(moment: datetime) -> int:
    """``moment`` (timezone-aware) as whole epoch milliseconds, exactly (no float on the way)."""
    return (moment - _EPOCH) // timedelta(milliseconds=1)


def _given(timestamp: object, message_id: object, context: object) -> Given:
    """The call's own timestamp (epoch ms), message id and context, checked and copied."""
    if timestamp is not None and (not isinstance(timestamp, datetime) or timestamp.utcoffset() is None):
        msg = (f"timestamp must be a timezone-aware datetime, or None (got {describe(timestamp)}). "
               "Pass e.g. datetime.now(timezone.utc): a naive time names no instant.")  # fmt: skip
        raise InvalidArgumentError(msg)
    check_id(message_id, "message_id", "Pass a non-empty str such as a UUID, or None.", optional=True)
    check_mapping(context, "context")
    stamp = None if timestamp is None else epoch_ms(timestamp)
    return (stamp, cast("str | None", message_id), snapshot(cast("Mapping[str, Any] | None", context)))


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
        timestamp: datetime | None = None,
        message_id: str | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """Send one event attributed to exactly the ids given.

        ``timestamp`` (an aware datetime: when it happened), ``message_id`` (the dedup key)
        and ``context`` (ip, locale, ...) arrive as given; left out, the outbox assigns the
        first two at flush and the context stays empty.
        """
        _check_ids(user_id, anonymous_id, "track")
        check_id(event, "event", "Name the event, e.g. track('Signed Up', user_id='u1').")
        check_mapping(properties, "properties")
        given = None
        if timestamp is not None or message_id is not None or context is not None:
            given = _given(timestamp, message_id, context)
        self._queue.append(
            (Kind.TRACK, event, (user_id, anonymous_id, None, None, _SOURCE), None, None,
             snapshot(properties), _EMPTY, given)
        )  # fmt: skip

    def identify(
        self,
        user_id: str | None = None,
        traits: Mapping[str, Any] | None = None,
        *,
        anonymous_id: str | None = None,
        timestamp: datetime | None = None,
        message_id: str | None = None,
        context: Mapping[str, Any] | None = None,
    ) -> None:
        """Send an identify; it changes nothing for later calls.

        ``timestamp``, ``message_id`` and ``context`` arrive as given, as for :meth:`track`.
        """
        _check_ids(user_id, anonymous_id, "identify")
        check_mapping(traits, "traits")
        given = None
        if timestamp is not None or message_id is not None or context is not None:
            given = _given(timestamp, message_id, context)
        self._queue.append(
            (Kind.IDENTIFY, None, (user_id, anonymous_id, None, None, _SOURCE), None, None,
             _EMPTY, snapshot(traits), given)
        )  # fmt: skip

    def alias(self, previous_id: str, user_id: str) -> None:
        """Declare that ``previous_id`` and ``user_id`` name the same person."""
        fix = "alias needs both ids, e.g. alias(previous_id='anon-1', user_id='user-42')."
        check_id(previous_id, "previous_id", fix)
        check_id(user_id, "user_id", fix)
        self._queue.append(
            (Kind.ALIAS, None, (user_id, None, None, None, _SOURCE), previous_id, None,
             _EMPTY, _EMPTY, None)
        )  # fmt: skip
