"""Test support: hooks into the reference SDK, as public API.

A conformance suite shows its power by catching faulty SDKs, and the handiest faulty SDK
is the reference one with one bug planted in it (``conformance/mutants/``). Planting a bug
means changing what a client keeps or stamps on its calls, or what waits in the outbox,
in ways the SDK's own API refuses to. These functions do exactly that, by name, so a
mutant never reaches into the simulator's private attributes or raw tuples, and the
simulator may change its internals without breaking them (as ``structlog.testing`` does
for structlog).

Three things can be changed, and each function says which:

- **storage**: the :class:`~simulator.StoredIdentity` a client keeps (what survives a
  relaunch when the profile persists);
- **wire ids**: the ids a client stamps on every call it queues (:class:`WireIds`). A
  client derives them from its storage whenever an operation changes identity, and caches
  them; :func:`set_wire_ids` makes the cache disagree with storage until
  :func:`refresh_wire_ids` (or the next identity-changing operation) derives them again;
- **the outbox**: calls queued and not yet flushed (:class:`QueuedCall`).

Nothing here validates identity semantics: that is the point. Arguments are checked for
type, so a typo fails at the call, not as a puzzling conformance verdict later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from simulator._client import ReferenceClient, StoredIdentity
from simulator._errors import InvalidArgumentError, check_id, describe
from simulator._outbox import _EMPTY, Given, Outbox, Pending
from simulator._outbox import WireIds as _WireTuple
from simulator._records import Kind

__all__ = [
    "QueuedCall",
    "WireIds",
    "queue_call",
    "queued_calls",
    "refresh_wire_ids",
    "replace_anonymous_id",
    "replace_queued_call",
    "set_stored_user",
    "set_wire_ids",
    "set_wire_user",
    "stored_identity",
    "take_queued_calls",
    "wire_ids",
]


@attrs.frozen
class WireIds:
    """The ids a call carries on the wire, by name.

    Which fields a client fills depends on its profile's id model: dual ids fill
    ``user_id`` and ``anonymous_id``; a switching ``distinct_id`` fills ``user_id``,
    ``device_id`` and ``distinct_id``; device-and-user fills ``user_id`` and ``device_id``
    (with the anonymous id). ``source`` is the client's storage key (``"server"`` for
    server calls); it reaches :attr:`simulator.Event.source`.
    """

    user_id: str | None = None
    anonymous_id: str | None = None
    device_id: str | None = None
    distinct_id: str | None = None
    source: str | None = None


@attrs.frozen
class QueuedCall:
    """One call waiting in an :class:`~simulator.Outbox`; flush turns it into an Event.

    Message ids and timestamps are the outbox's, assigned at flush in queue order, unless
    the call gave its own (``given``: timestamp in epoch ms, message id, context).
    """

    kind: Kind
    name: str | None = None
    ids: WireIds = WireIds()
    previous_id: str | None = None
    group_id: str | None = None
    properties: Mapping[str, Any] = attrs.field(default=_EMPTY)
    traits: Mapping[str, Any] = attrs.field(default=_EMPTY)
    given: Given | None = None


# -- a client's storage and wire ids ---------------------------------------------------------
def stored_identity(client: ReferenceClient) -> StoredIdentity:
    """The live record ``client`` keeps in storage (not a copy).

    Changing its ``traits`` takes effect at once (traits travel only on identify calls).
    Changing its ids changes storage, and so what a relaunch resumes, but not what the
    client stamps on its calls until :func:`refresh_wire_ids`; use
    :func:`replace_anonymous_id` or :func:`set_stored_user` to do both at once.
    """
    return _client(client)._state  # noqa: SLF001  (this module is the simulator's own test hook)


def wire_ids(client: ReferenceClient) -> WireIds:
    """The ids ``client`` stamps on the next call it queues."""
    return WireIds(*_client(client)._wire_ids)  # noqa: SLF001  (the simulator's own test hook)


def set_wire_ids(client: ReferenceClient, ids: WireIds) -> None:
    """Stamp ``ids`` on ``client``'s later calls, leaving its storage as it is.

    It lasts until the client derives its wire ids from storage again: at
    :func:`refresh_wire_ids`, or at its next identify, reset or :func:`replace_anonymous_id`.
    Calls already queued keep the ids they were queued with.
    """
    if not isinstance(ids, WireIds):
        msg = f"ids must be a simulator.testing.WireIds (got {describe(ids)}). Build one with attrs.evolve(wire_ids(client), user_id=...)."
        raise InvalidArgumentError(msg)
    _client(client)._wire_ids = _tuple(ids)  # noqa: SLF001  (the simulator's own test hook)


def set_wire_user(client: ReferenceClient, user_id: str | None) -> None:
    """Stamp ``user_id`` (or no user) on ``client``'s later calls; its other ids and storage stay.

    Shorthand for ``set_wire_ids(client, attrs.evolve(wire_ids(client), user_id=user_id))``.
    """
    check_id(user_id, "user_id", "Pass a user id such as 'user-42', or None.", optional=True)
    set_wire_ids(client, attrs.evolve(wire_ids(client), user_id=user_id))


def refresh_wire_ids(client: ReferenceClient) -> None:
    """Derive ``client``'s wire ids from its storage again, as every identity change does."""
    _client(client)._refresh()  # noqa: SLF001  (the simulator's own test hook)


def replace_anonymous_id(client: ReferenceClient, new_id: str) -> None:
    """Store ``new_id`` as ``client``'s anonymous id and stamp it on its later calls.

    Nothing is sent and nothing else changes: it is what a reset's rotation does to the
    anonymous id, without forgetting the user.
    """
    check_id(new_id, "new_id", "Pass the anonymous id to use, e.g. sdk.ids.new_id().")
    stored_identity(client).anonymous_id = new_id
    refresh_wire_ids(client)


def set_stored_user(client: ReferenceClient, user_id: str | None) -> None:
    """Store ``user_id`` (or no user) as ``client``'s user and stamp it on its later calls.

    Nothing is sent, and the stored traits stay: unlike identify or reset, it changes the
    user alone.
    """
    check_id(user_id, "user_id", "Pass a user id such as 'user-42', or None.", optional=True)
    stored_identity(client).user_id = user_id
    refresh_wire_ids(client)


def _client(client: object) -> ReferenceClient:
    if not isinstance(client, ReferenceClient):
        msg = f"client must be a simulator.ReferenceClient (got {describe(client)}). Open one with ReferenceSDK().open_client('phone')."
        raise InvalidArgumentError(msg)
    return client


# -- the outbox --------------------------------------------------------------------------------
def queued_calls(outbox: Outbox) -> list[QueuedCall]:
    """The calls waiting in ``outbox``, in queue (call) order; a snapshot, not a live view."""
    return [
        QueuedCall(kind, name, WireIds(*ids), previous_id, group_id, properties, traits, given)
        for kind, name, ids, previous_id, group_id, properties, traits, given in _outbox(outbox).pending
    ]


def replace_queued_call(outbox: Outbox, index: int, call: QueuedCall) -> None:
    """Put ``call`` in place of the queued call at ``index`` (negative counts from the end).

    Only that entry changes, so calls other threads queue meanwhile stay where they are.
    ``properties`` and ``traits`` are queued as given, not copied: a mapping the caller
    keeps changing reaches the wire changed.
    """
    pending = _outbox(outbox).pending
    if type(index) is not int or not -len(pending) <= index < len(pending):
        msg = f"index must be the int position of a queued call, from {-len(pending)} to {len(pending) - 1} (got {describe(index)}). Read the queue with queued_calls(outbox)."
        raise InvalidArgumentError(msg)
    pending[index] = _entry(call)


def queue_call(outbox: Outbox, call: QueuedCall) -> None:
    """Append ``call`` to ``outbox`` as if an SDK call had queued it, with no checks at all."""
    _outbox(outbox).pending.append(_entry(call))


def take_queued_calls(outbox: Outbox) -> list[QueuedCall]:
    """Remove every call waiting in ``outbox`` and return them, in queue order.

    The queue is emptied in place, so whatever any thread queued up to this moment goes:
    a mutant that read the queue earlier and takes it now loses the calls in between.
    """
    pending = _outbox(outbox).pending
    taken = pending[:]
    del pending[: len(taken)]
    return [QueuedCall(kind, name, WireIds(*ids), previous_id, group_id, properties, traits, given)
            for kind, name, ids, previous_id, group_id, properties, traits, given in taken]  # fmt: skip


def _tuple(ids: WireIds) -> _WireTuple:
    return (ids.user_id, ids.anonymous_id, ids.device_id, ids.distinct_id, ids.source)


def _entry(call: object) -> Pending:
    if not isinstance(call, QueuedCall):
        msg = f"call must be a simulator.testing.QueuedCall (got {describe(call)}). Read one with queued_calls(outbox)."
        raise InvalidArgumentError(msg)
    return (call.kind, call.name, _tuple(call.ids), call.previous_id, call.group_id,
            call.properties, call.traits, call.given)  # fmt: skip


def _outbox(outbox: object) -> Outbox:
    if not isinstance(outbox, Outbox):
        msg = f"outbox must be a simulator.Outbox (got {describe(outbox)}). Pass the SDK's, e.g. sdk.outbox."
        raise InvalidArgumentError(msg)
    return outbox
