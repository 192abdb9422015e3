"""Faulty SDKs: the reference SDK with one realistic identity bug each.

A conformance suite is worth its power to catch real bugs; every mutant here must be
caught, with the requirement id it names, within the default budget (tests/test_mutants.py).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Mapping
from typing import Any, cast

import attrs

from conformance.adapters.protocol import AdapterInfo, AdapterKind
from conformance.adapters.reference import ReferenceAdapter
from conformance.collector.store import Collector
from simulator import (
    DeliveryError,
    Event,
    IdentifyOther,
    Kind,
    ReferenceClient,
    StoredIdentity,
    snapshot,
)
from simulator._outbox import Pending, WireIds


@attrs.frozen
class Mutant:
    """One deliberately faulty SDK."""

    name: str
    scope: str
    bug: str
    breaks: str
    factory: Callable[[Collector], Any] = attrs.field(repr=False)


class _MutantAdapter(ReferenceAdapter):
    """The reference adapter with an ``info`` that names the mutant and its bug."""

    mutant: Mutant

    def __init__(self, collector: Collector, profile: str = "seed", seed: int = 0) -> None:
        super().__init__(collector, profile, seed)
        base = self.info
        self._info = AdapterInfo(
            name=self.mutant.name, kind=AdapterKind.BOTH, profile=base.profile,
            sdk_name="reference SDK with a planted bug", sdk_version=base.sdk_version,
            capabilities=base.capabilities, description=self.mutant.bug,
            expected_violation=self.mutant.breaks,
        )  # fmt: skip


class _ClientWrapper:
    """Delegates to a reference client; mutants override one operation."""

    def __init__(self, inner: ReferenceClient, adapter: Any) -> None:
        self.inner = inner
        self.adapter = adapter

    def track(self, name: str, properties: Mapping[str, Any]) -> None:
        self.inner.track(name, properties)

    def identify(self, user_id: str, traits: Mapping[str, Any]) -> None:
        self.inner.identify(user_id, traits)

    def reset(self) -> None:
        self.inner.reset()

    def alias(self, new_id: str) -> None:
        self.inner.alias(new_id)

    def close(self) -> None:
        self.inner.close()


MUTANTS: list[Mutant] = []


def mutant(name: str, breaks: str, bug: str, scope: str = "client") -> Callable[[type], type]:
    """Register a mutant adapter class."""

    def register(cls: type) -> type:
        record = Mutant(name, scope, bug, breaks, cls)
        cls.mutant = record  # type: ignore[attr-defined]
        MUTANTS.append(record)
        return cls

    return register


def _client_mutant(wrapper: type[_ClientWrapper]) -> type[_MutantAdapter]:
    class Adapter(_MutantAdapter):
        def open_client(self, storage_key: str) -> Any:
            return wrapper(super().open_client(storage_key), self)

    return Adapter


def _set_wire_id(client: ReferenceClient, index: int, value: str | None) -> None:
    """Overwrite one of the ids ``client`` stamps on its calls (see ``simulator._outbox.WireIds``)."""
    ids = list(client._wire_ids)
    ids[index] = value
    client._wire_ids = cast("WireIds", tuple(ids))


_USER, _ANONYMOUS = 0, 1  # indexes into WireIds


def _with_user(entry: Pending, user_id: str | None) -> Pending:
    """``entry`` (a queued call) sent under ``user_id``."""
    kind, name, (_, anonymous_id, device_id, distinct_id, source), *rest = entry
    ids = (user_id, anonymous_id, device_id, distinct_id, source)
    return cast("Pending", (kind, name, ids, *rest))


def _with_properties(entry: Pending, properties: Mapping[str, Any]) -> Pending:
    """``entry`` (a queued call) carrying ``properties``."""
    kind, name, ids, previous_id, group_id, _, traits = entry
    return (kind, name, ids, previous_id, group_id, properties, traits)


# -- client mutants ---------------------------------------------------------------------------
class _ResetKeepsUser(_ClientWrapper):
    def reset(self) -> None:
        state = self.inner._state
        user = state.user_id
        self.inner.reset()
        state.user_id = user
        self.inner._refresh()


mutant("mutant-reset-keeps-user", "client.reset.forgets-user",
       "reset() rotates the anonymous id but keeps the user id.")(_client_mutant(_ResetKeepsUser))  # fmt: skip


class _AnonymousIdPerEvent(_ClientWrapper):
    def track(self, name: str, properties: Mapping[str, Any]) -> None:
        self.inner._state.anonymous_id = self.adapter.sdk.ids.new_id()
        self.inner._refresh()
        self.inner.track(name, properties)


mutant("mutant-anonymous-id-per-event", "client.anonymous-id.stable",
       "A new anonymous id is generated for every tracked event.")(_client_mutant(_AnonymousIdPerEvent))  # fmt: skip


@mutant("mutant-identity-not-persisted", "client.identify.later-events-carry-user",
        "Identity is kept in memory only: every launch on the same storage starts anonymous, "
        "with a new anonymous id, although nobody called reset().")  # fmt: skip
class _IdentityNotPersisted(_MutantAdapter):
    def open_client(self, storage_key: str) -> Any:
        self.sdk.storage.pop(storage_key, None)
        return super().open_client(storage_key)


@mutant("mutant-anonymous-id-per-process", "client.anonymous-id.per-client",
        "The anonymous id is generated once per SDK instance and cached there, so every "
        "device (storage) opened by that instance starts with the same one.")  # fmt: skip
class _AnonymousIdPerProcess(_MutantAdapter):
    process_anonymous_id: str | None = None

    def open_client(self, storage_key: str) -> Any:
        fresh = storage_key not in self.sdk.storage
        client = super().open_client(storage_key)
        if fresh:
            if self.process_anonymous_id is None:
                self.process_anonymous_id = client.anonymous_id
            client._state.anonymous_id = self.process_anonymous_id
            client._refresh()
        return client


class _AnonymousIdDroppedOnceIdentified(_ClientWrapper):
    def track(self, name: str, properties: Mapping[str, Any]) -> None:
        if self.inner.user_id is not None:
            _set_wire_id(self.inner, _ANONYMOUS, None)
        self.inner.track(name, properties)


mutant("mutant-anonymous-id-dropped-once-identified", "client.anonymous-id.automatic",
       "Once a user is identified, track() sends only the user id and leaves the anonymous id "
       "out.")(_client_mutant(_AnonymousIdDroppedOnceIdentified))  # fmt: skip


class _IdentifyRotatesAnonymousId(_ClientWrapper):
    def identify(self, user_id: str, traits: Mapping[str, Any]) -> None:
        if self.inner.user_id is None:  # "a login starts a new session"
            self.inner._state.anonymous_id = self.adapter.sdk.ids.new_id()
            self.inner._refresh()
        self.inner.identify(user_id, traits)


mutant("mutant-identify-rotates-anonymous-id", "client.identify.links-earlier-anonymous-events",
       "identify() on an anonymous client first starts a new anonymous id, so the identify "
       "links the new id and the events before it stay anonymous.")(
    _client_mutant(_IdentifyRotatesAnonymousId))  # fmt: skip


class _ResetKeepsTraits(_ClientWrapper):
    def reset(self) -> None:
        state = self.inner._state
        kept = state.traits
        self.inner.reset()
        state.traits = kept  # only the user id and the anonymous id are cleared

    def identify(self, user_id: str, traits: Mapping[str, Any]) -> None:
        if self.inner.user_id is None:  # logging in: send the stored traits along
            traits = {**self.inner.traits, **traits}
        self.inner.identify(user_id, traits)


mutant("mutant-reset-keeps-traits", "client.reset.forgets-traits",
       "reset() clears the user id but leaves their traits in storage, and the next "
       "identify() sends them along with its own.")(_client_mutant(_ResetKeepsTraits))  # fmt: skip


class _LazyReset(_ClientWrapper):
    stale = False

    def reset(self) -> None:
        user = self.inner._wire_ids[_USER]
        self.inner.reset()
        _set_wire_id(self.inner, _USER, user)
        self.stale = True

    def track(self, name: str, properties: Mapping[str, Any]) -> None:
        self.inner.track(name, properties)
        if self.stale:
            self.inner._refresh()
            self.stale = False


mutant("mutant-lazy-reset", "client.reset.forgets-user",
       "reset() refreshes the cached wire identity only after the next event is queued, so "
       "the first event after reset still carries the old user.")(_client_mutant(_LazyReset))  # fmt: skip


class _IdentifyNotStamped(_ClientWrapper):
    def identify(self, user_id: str, traits: Mapping[str, Any]) -> None:
        cached = self.inner._wire_ids[_USER]
        self.inner.identify(user_id, traits)
        _set_wire_id(self.inner, _USER, cached)


mutant("mutant-identify-not-stamped", "client.identify.later-events-carry-user",
       "identify() sends its event and stores the user, but track() keeps using the identity "
       "cached at launch, so later events are not attributed to the user.")(
    _client_mutant(_IdentifyNotStamped))  # fmt: skip


@mutant("mutant-identify-other-keeps-anonymous-id", "client.identify.no-merge-of-identified-users",
        "identify(u2) while identified as u1 keeps the anonymous id, which links u1's and "
        "u2's histories through it.")  # fmt: skip
class _IdentifyOtherKeepsAnonymousId(_MutantAdapter):
    def open_client(self, storage_key: str) -> Any:
        client = super().open_client(storage_key)
        client.profile = attrs.evolve(
            client.profile, identify_other=IdentifyOther.RESET_KEEP_ANONYMOUS
        )
        return client


class _IdentifyOtherKeepsTraits(_ClientWrapper):
    def identify(self, user_id: str, traits: Mapping[str, Any]) -> None:
        previous = self.inner.user_id
        if previous is not None and previous != user_id:
            traits = {**self.inner.traits, **traits}
        self.inner.identify(user_id, traits)


mutant("mutant-identify-other-keeps-traits", "client.identify.no-merge-of-identified-users",
       "identify(u2) while identified as u1 sends u1's traits along with u2's.")(
    _client_mutant(_IdentifyOtherKeepsTraits))  # fmt: skip


@mutant("mutant-user-bound-at-flush", "client.binding.at-call",
        "track() queues the event without its user id; the batch reads the user id from "
        "storage when it is flushed, so events take the identity current at flush time.")  # fmt: skip
class _UserBoundAtFlush(_MutantAdapter):
    def __init__(self, collector: Collector, profile: str = "seed", seed: int = 0) -> None:
        super().__init__(collector, profile, seed)
        self.stored: dict[str, StoredIdentity] = {}

    def open_client(self, storage_key: str) -> Any:
        client = super().open_client(storage_key)
        self.stored[storage_key] = client._state
        return client

    def flush(self) -> None:
        queue = self.sdk.outbox.pending
        for i, entry in enumerate(queue):
            state = self.stored.get(entry[2][4] or "")
            if entry[0] is Kind.TRACK and state is not None:
                queue[i] = _with_user(entry, state.user_id)
        super().flush()


class _IdentifyAcceptsNoUser(_ClientWrapper):
    def identify(self, user_id: str, traits: Mapping[str, Any]) -> None:
        if user_id:
            self.inner.identify(user_id, traits)
        else:  # `if user_id:` guards only the validation, not the send
            self.inner._emit(Kind.IDENTIFY, None, None, None, snapshot(traits))


mutant("mutant-identify-accepts-no-user", "client.identify.requires-user-id",
       "identify(None) and identify('') are not refused: they send an identify event for "
       "whoever is current.")(_client_mutant(_IdentifyAcceptsNoUser))  # fmt: skip


class _AppGroupUser(_ClientWrapper):
    """Storage keys read ``<app>-<device>``; the user id is kept under ``<app>`` alone."""

    def _app(self) -> str:
        return self.inner.key.split("-", 1)[0]

    def track(self, name: str, properties: Mapping[str, Any]) -> None:
        _set_wire_id(self.inner, _USER, self.adapter.app_users.get(self._app()))
        self.inner.track(name, properties)

    def identify(self, user_id: str, traits: Mapping[str, Any]) -> None:
        self.inner.identify(user_id, traits)
        self.adapter.app_users[self._app()] = user_id

    def reset(self) -> None:
        self.inner.reset()
        self.adapter.app_users[self._app()] = None


@mutant("mutant-user-shared-between-devices", "client.isolation.between-clients",
        "The user id is stored in app-wide storage shared by every device, so identify() on "
        "one device attributes the other devices' events to that user.")  # fmt: skip
class _UserSharedBetweenDevices(_MutantAdapter):
    def __init__(self, collector: Collector, profile: str = "seed", seed: int = 0) -> None:
        super().__init__(collector, profile, seed)
        self.app_users: dict[str, str | None] = {}

    def open_client(self, storage_key: str) -> Any:
        return _AppGroupUser(super().open_client(storage_key), self)


class _PropertiesByReference(_ClientWrapper):
    def track(self, name: str, properties: Mapping[str, Any]) -> None:
        self.inner.track(name, properties)
        queue = self.inner._queue
        queue[-1] = _with_properties(queue[-1], properties)


mutant("mutant-properties-by-reference", "client.payload.as-called",
       "track() queues the caller's properties dict itself, so changes the caller makes before "
       "the flush are sent.")(_client_mutant(_PropertiesByReference))  # fmt: skip


class _PropertiesShallowCopy(_ClientWrapper):
    def track(self, name: str, properties: Mapping[str, Any]) -> None:
        self.inner.track(name, properties)
        queue = self.inner._queue
        queue[-1] = _with_properties(queue[-1], dict(properties))


mutant("mutant-properties-shallow-copy", "client.payload.as-called",
       "track() copies the properties dict shallowly, so nested lists and dicts the caller "
       "changes before the flush are sent changed.")(_client_mutant(_PropertiesShallowCopy))  # fmt: skip


# -- server mutants ---------------------------------------------------------------------------
@mutant("mutant-server-caches-user", "server.state.no-carry-over",
        "The server SDK remembers the last user id of the batch and fills it into later calls "
        "of the batch that omit it.", scope="server")  # fmt: skip
class _ServerCachesUser(_MutantAdapter):
    last_user: str | None = None

    def track(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
              anonymous_id: str | None) -> None:  # fmt: skip
        if user_id is not None:
            self.last_user = user_id
        super().track(event, properties, user_id=user_id or self.last_user,
                      anonymous_id=anonymous_id)  # fmt: skip

    def flush(self) -> None:
        self.last_user = None  # the cache lives as long as the batch
        super().flush()


@mutant("mutant-server-caches-anonymous-id", "server.state.no-carry-over",
        "The server SDK remembers the last anonymous id of the batch and fills it into later "
        "calls of the batch that omit it.", scope="server")  # fmt: skip
class _ServerCachesAnonymousId(_MutantAdapter):
    last_anonymous: str | None = None

    def track(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
              anonymous_id: str | None) -> None:  # fmt: skip
        if anonymous_id is not None:
            self.last_anonymous = anonymous_id
        super().track(event, properties, user_id=user_id,
                      anonymous_id=anonymous_id or self.last_anonymous)  # fmt: skip

    def flush(self) -> None:
        self.last_anonymous = None  # the cache lives as long as the batch
        super().flush()


@mutant("mutant-server-identify-sets-default-user", "server.state.identify-changes-nothing",
        "Server identify() sets a default user id that later calls of the batch without a "
        "user id use.", scope="server")  # fmt: skip
class _ServerIdentifySetsDefaultUser(_MutantAdapter):
    default_user: str | None = None

    def identify(self, *, user_id: str | None, anonymous_id: str | None,
                 traits: Mapping[str, Any]) -> None:  # fmt: skip
        super().identify(user_id=user_id, anonymous_id=anonymous_id, traits=traits)
        self.default_user = user_id or self.default_user

    def track(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
              anonymous_id: str | None) -> None:  # fmt: skip
        super().track(event, properties, user_id=user_id or self.default_user,
                      anonymous_id=anonymous_id)  # fmt: skip

    def flush(self) -> None:
        self.default_user = None  # the default lives as long as the batch
        super().flush()


@mutant("mutant-server-traits-carry-over", "server.state.no-carry-over",
        "Server identify() merges its traits into a per-batch context, so each identify sends "
        "the traits of the earlier identify calls of the batch too.", scope="server")  # fmt: skip
class _ServerTraitsCarryOver(_MutantAdapter):
    def __init__(self, collector: Collector, profile: str = "seed", seed: int = 0) -> None:
        super().__init__(collector, profile, seed)
        self.context: dict[str, Any] = {}

    def identify(self, *, user_id: str | None, anonymous_id: str | None,
                 traits: Mapping[str, Any]) -> None:  # fmt: skip
        self.context.update(traits)
        super().identify(user_id=user_id, anonymous_id=anonymous_id, traits=self.context)

    def flush(self) -> None:
        self.context.clear()
        super().flush()


@mutant("mutant-server-mutates-properties", "server.arguments.not-retained",
        "Server track() writes its library name into the caller's properties dict instead of "
        "into a copy.", scope="server")  # fmt: skip
class _ServerMutatesProperties(_MutantAdapter):
    def track(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
              anonymous_id: str | None) -> None:  # fmt: skip
        cast("dict[str, Any]", properties)["library"] = "reference"
        super().track(event, properties, user_id=user_id, anonymous_id=anonymous_id)


@mutant("mutant-server-properties-by-reference", "server.arguments.not-retained",
        "Server track() queues the caller's properties dict itself, so changes the caller "
        "makes before the flush are sent.", scope="server")  # fmt: skip
class _ServerPropertiesByReference(_MutantAdapter):
    def track(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
              anonymous_id: str | None) -> None:  # fmt: skip
        super().track(event, properties, user_id=user_id, anonymous_id=anonymous_id)
        queue = self.sdk.outbox.pending
        for i in range(len(queue) - 1, -1, -1):  # other threads may have queued since
            if queue[i][1] == event:
                queue[i] = _with_properties(queue[i], properties)
                break


@mutant("mutant-server-ids-on-instance", "server.threads.isolated",
        "Server track() keeps the ids of the call in progress on the shared instance, not per "
        "call, so concurrent calls can send each other's ids.", scope="server")  # fmt: skip
class _ServerIdsOnInstance(_MutantAdapter):
    current: tuple[str | None, str | None] = (None, None)

    def track(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
              anonymous_id: str | None) -> None:  # fmt: skip
        self.current = (user_id, anonymous_id)
        time.sleep(0)  # any thread switch here lets another call overwrite `current`
        user_id, anonymous_id = self.current
        super().track(event, properties, user_id=user_id, anonymous_id=anonymous_id)


@mutant("mutant-server-accepts-no-ids", "server.ids.at-least-one",
        "Server track() has no at-least-one-id check: a call with neither id is sent with no "
        "ids.", scope="server")  # fmt: skip
class _ServerAcceptsNoIds(_MutantAdapter):
    def track(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
              anonymous_id: str | None) -> None:  # fmt: skip
        if user_id is None and anonymous_id is None:
            ids = (None, None, None, None, "server")
            self.sdk.outbox.pending.append((Kind.TRACK, event, ids, None, None,
                                            snapshot(properties), snapshot(None)))  # fmt: skip
            return
        super().track(event, properties, user_id=user_id, anonymous_id=anonymous_id)


@mutant("mutant-server-drops-anonymous-id", "server.ids.exactly-as-given",
        "Server track() drops the anonymous id when a user id is also given.",
        scope="server")  # fmt: skip
class _ServerDropsAnonymousId(_MutantAdapter):
    def track(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
              anonymous_id: str | None) -> None:  # fmt: skip
        super().track(event, properties, user_id=user_id,
                      anonymous_id=None if user_id else anonymous_id)  # fmt: skip


@mutant("mutant-server-swaps-ids", "server.ids.exactly-as-given",
        "Server identify() given both ids sends them in each other's place.",
        scope="server")  # fmt: skip
class _ServerSwapsIds(_MutantAdapter):
    def identify(self, *, user_id: str | None, anonymous_id: str | None,
                 traits: Mapping[str, Any]) -> None:  # fmt: skip
        if user_id is not None and anonymous_id is not None:
            user_id, anonymous_id = anonymous_id, user_id
        super().identify(user_id=user_id, anonymous_id=anonymous_id, traits=traits)


@mutant("mutant-server-ascii-ids", "server.ids.exactly-as-given",
        "The server SDK encodes ids as ASCII and silently drops the other characters.",
        scope="server")  # fmt: skip
class _ServerAsciiIds(_MutantAdapter):
    def track(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
              anonymous_id: str | None) -> None:  # fmt: skip
        def ascii_only(value: str | None) -> str | None:
            return value and value.encode("ascii", "ignore").decode()

        super().track(event, properties, user_id=ascii_only(user_id),
                      anonymous_id=ascii_only(anonymous_id))  # fmt: skip


# -- delivery mutants (client and server) ----------------------------------------------------
@mutant("mutant-drops-every-seventh-event", "delivery.exactly-once",
        "Flush splits the batch into chunks with an off-by-one, so the 7th event of every 7 is "
        "never sent.", scope="both")  # fmt: skip
class _DropsEverySeventhEvent(_MutantAdapter):
    def _deliver(self, events: list[Event]) -> None:
        for start in range(0, len(events), 7):
            super()._deliver(events[start : start + 6])


@mutant("mutant-identify-sent-twice", "delivery.exactly-once",
        "Identify events are sent twice, immediately and again with the batch, and the second "
        "copy gets its own message id.", scope="both")  # fmt: skip
class _IdentifySentTwice(_MutantAdapter):
    def _deliver(self, events: list[Event]) -> None:
        again = [attrs.evolve(e, message_id=self.sdk.ids.new_id())
                 for e in events if e.kind is Kind.IDENTIFY]  # fmt: skip
        super()._deliver(events + again)


@mutant("mutant-retry-new-message-ids", "delivery.retry.same-message-id",
        "A batch resent after a failed delivery is serialized again with new message ids.",
        scope="both")  # fmt: skip
class _RetryNewMessageIds(_MutantAdapter):
    retrying = False

    def _deliver(self, events: list[Event]) -> None:
        if self.retrying:
            events = [attrs.evolve(e, message_id=self.sdk.ids.new_id()) for e in events]
        try:
            super()._deliver(events)
        except DeliveryError:
            self.retrying = True
            raise
        self.retrying = False


@mutant("mutant-message-ids-per-batch", "delivery.message-id.unique",
        "Message ids are numbered from zero in every batch, so each batch reuses the previous "
        "batch's ids.", scope="both")  # fmt: skip
class _MessageIdsPerBatch(_MutantAdapter):
    def _deliver(self, events: list[Event]) -> None:
        super()._deliver([attrs.evolve(e, message_id=f"msg-{i:06d}")
                          for i, e in enumerate(events)])  # fmt: skip


@mutant("mutant-message-id-from-content", "delivery.message-id.unique",
        "The message id is a hash of the event's kind, name and ids, so two identify calls "
        "for the same user get the same message id.", scope="both")  # fmt: skip
class _MessageIdFromContent(_MutantAdapter):
    def _deliver(self, events: list[Event]) -> None:
        def content_id(e: Event) -> str:
            key = f"{e.kind.value}|{e.name}|{e.user_id}|{e.anonymous_id}|{e.distinct_id}"
            return str(uuid.uuid5(uuid.NAMESPACE_URL, key))

        super()._deliver([attrs.evolve(e, message_id=content_id(e)) for e in events])
