"""Client mutants: bugs in how a client SDK keeps, stamps and sends its identity.

Each names its primary requirement (``breaks``) and the knock-on failures full runs
show (``also_breaks``); the mutant sweep (``conformance.report.sweep``) checks both.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from conformance.collector.store import Collector
from conformance.mutants.base import (
    Mutant,
    _client_mutant,
    _ClientWrapper,
    _MutantAdapter,
    edit_last_call,
    registrar,
)
from simulator import IdentifyOther, Kind, StoredIdentity, snapshot
from simulator.testing import (
    QueuedCall,
    queue_call,
    queued_calls,
    refresh_wire_ids,
    replace_anonymous_id,
    replace_queued_call,
    set_stored_user,
    set_wire_ids,
    set_wire_user,
    stored_identity,
    wire_ids,
)

MUTANTS: list[Mutant] = []
mutant = registrar(MUTANTS)

_STABLE = "client.anonymous-id.stable"
_PERSISTS = "client.anonymous-id.persists"
_LINKS = "client.identify.links-earlier-anonymous-events"
_LATER = "client.identify.later-events-carry-user"
_NO_MERGE = "client.identify.no-merge-of-identified-users"
_FORGETS_USER = "client.reset.forgets-user"
_ISOLATION = "client.isolation.between-clients"


class _ResetKeepsUser(_ClientWrapper):
    def reset(self) -> None:
        user = self.inner.user_id
        self.inner.reset()
        set_stored_user(self.inner, user)


mutant("mutant-reset-keeps-user", _FORGETS_USER,
       "reset() rotates the anonymous id but keeps the user id.",
       also_breaks=(_STABLE, _PERSISTS))(_client_mutant(_ResetKeepsUser))  # fmt: skip


class _AnonymousIdPerEvent(_ClientWrapper):
    def track(self, name: str, properties: Mapping[str, Any]) -> None:
        replace_anonymous_id(self.inner, self.adapter.sdk.ids.new_id())
        self.inner.track(name, properties)


mutant("mutant-anonymous-id-per-event", _STABLE,
       "A new anonymous id is generated for every tracked event.",
       also_breaks=(_PERSISTS, _LINKS))(_client_mutant(_AnonymousIdPerEvent))  # fmt: skip


@mutant("mutant-identity-not-persisted", _LATER,
        "Identity is kept in memory only: every launch on the same storage starts anonymous, "
        "with a new anonymous id, although nobody called reset().",
        also_breaks=(_STABLE, _PERSISTS, _LINKS, _NO_MERGE))  # fmt: skip
class _IdentityNotPersisted(_MutantAdapter):
    def open_client(self, storage_key: str) -> Any:
        self.sdk.storage.pop(storage_key, None)
        return super().open_client(storage_key)


@mutant("mutant-anonymous-id-per-process", "client.anonymous-id.per-client",
        "The anonymous id is generated once per SDK instance and cached there, so every "
        "device (storage) opened by that instance starts with the same one.",
        also_breaks=(_LINKS, _NO_MERGE, _ISOLATION))  # fmt: skip
class _AnonymousIdPerProcess(_MutantAdapter):
    process_anonymous_id: str | None = None

    def open_client(self, storage_key: str) -> Any:
        fresh = storage_key not in self.sdk.storage
        client = super().open_client(storage_key)
        if fresh:
            if self.process_anonymous_id is None:
                self.process_anonymous_id = client.anonymous_id
            replace_anonymous_id(client, self.process_anonymous_id)
        return client


class _AnonymousIdDroppedOnceIdentified(_ClientWrapper):
    def track(self, name: str, properties: Mapping[str, Any]) -> None:
        if self.inner.user_id is not None:
            set_wire_ids(self.inner, attrs.evolve(wire_ids(self.inner), anonymous_id=None))
        self.inner.track(name, properties)


mutant("mutant-anonymous-id-dropped-once-identified", "client.anonymous-id.automatic",
       "Once a user is identified, track() sends only the user id and leaves the anonymous id "
       "out.")(_client_mutant(_AnonymousIdDroppedOnceIdentified))  # fmt: skip


class _IdentifyRotatesAnonymousId(_ClientWrapper):
    def identify(self, user_id: str, traits: Mapping[str, Any]) -> None:
        if self.inner.user_id is None:  # "a login starts a new session"
            replace_anonymous_id(self.inner, self.adapter.sdk.ids.new_id())
        self.inner.identify(user_id, traits)


mutant("mutant-identify-rotates-anonymous-id", _LINKS,
       "identify() on an anonymous client first starts a new anonymous id, so the identify "
       "links the new id and the events before it stay anonymous.",
       also_breaks=(_STABLE, _PERSISTS))(_client_mutant(_IdentifyRotatesAnonymousId))  # fmt: skip


class _ResetKeepsTraits(_ClientWrapper):
    def reset(self) -> None:
        kept = stored_identity(self.inner).traits
        self.inner.reset()
        stored_identity(self.inner).traits = kept  # only the user id and the anonymous id are cleared

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
        user = wire_ids(self.inner).user_id
        self.inner.reset()
        set_wire_user(self.inner, user)
        self.stale = True

    def track(self, name: str, properties: Mapping[str, Any]) -> None:
        self.inner.track(name, properties)
        if self.stale:
            refresh_wire_ids(self.inner)
            self.stale = False


mutant("mutant-lazy-reset", _FORGETS_USER,
       "reset() refreshes the cached wire identity only after the next event is queued, so "
       "the first event after reset still carries the old user.")(_client_mutant(_LazyReset))  # fmt: skip


class _IdentifyNotStamped(_ClientWrapper):
    def identify(self, user_id: str, traits: Mapping[str, Any]) -> None:
        cached = wire_ids(self.inner).user_id
        self.inner.identify(user_id, traits)
        set_wire_user(self.inner, cached)


mutant("mutant-identify-not-stamped", _LATER,
       "identify() sends its event and stores the user, but track() keeps using the identity "
       "cached at launch, so later events are not attributed to the user.",
       also_breaks=(_LINKS, _NO_MERGE))(_client_mutant(_IdentifyNotStamped))  # fmt: skip


@mutant("mutant-identify-other-keeps-anonymous-id", _NO_MERGE,
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


mutant("mutant-identify-other-keeps-traits", _NO_MERGE,
       "identify(u2) while identified as u1 sends u1's traits along with u2's.")(
    _client_mutant(_IdentifyOtherKeepsTraits))  # fmt: skip


@mutant("mutant-user-bound-at-flush", "client.binding.at-call",
        "track() queues the event without its user id; the batch reads the user id from "
        "storage when it is flushed, so events take the identity current at flush time.",
        also_breaks=(_LATER, _LINKS, _NO_MERGE, _FORGETS_USER))  # fmt: skip
class _UserBoundAtFlush(_MutantAdapter):
    def __init__(self, collector: Collector, profile: str | None = None, seed: int = 0) -> None:
        super().__init__(collector, profile, seed)
        self.stored: dict[str, StoredIdentity] = {}

    def open_client(self, storage_key: str) -> Any:
        client = super().open_client(storage_key)
        self.stored[storage_key] = stored_identity(client)
        return client

    def flush(self) -> None:
        outbox = self.sdk.outbox
        for i, call in enumerate(queued_calls(outbox)):
            state = self.stored.get(call.ids.source or "")
            if call.kind is Kind.TRACK and state is not None:
                ids = attrs.evolve(call.ids, user_id=state.user_id)
                replace_queued_call(outbox, i, attrs.evolve(call, ids=ids))
        super().flush()


class _IdentifyAcceptsNoUser(_ClientWrapper):
    def identify(self, user_id: str, traits: Mapping[str, Any]) -> None:
        if user_id:
            self.inner.identify(user_id, traits)
        else:  # `if user_id:` guards only the validation, not the send
            queue_call(self.outbox, QueuedCall(Kind.IDENTIFY, ids=wire_ids(self.inner),
                                               traits=snapshot(traits)))  # fmt: skip


mutant("mutant-identify-accepts-no-user", "client.identify.requires-user-id",
       "identify(None) and identify('') are not refused: they send an identify event for "
       "whoever is current.")(_client_mutant(_IdentifyAcceptsNoUser))  # fmt: skip


class _AppGroupUser(_ClientWrapper):
    """Storage keys read ``<app>-<device>``; the user id is kept under ``<app>`` alone."""

    def app(self) -> str:
        return self.inner.key.split("-", 1)[0]

    def track(self, name: str, properties: Mapping[str, Any]) -> None:
        set_wire_user(self.inner, self.adapter.app_users.get(self.app()))
        self.inner.track(name, properties)

    def identify(self, user_id: str, traits: Mapping[str, Any]) -> None:
        self.inner.identify(user_id, traits)
        self.adapter.app_users[self.app()] = user_id

    def reset(self) -> None:
        self.inner.reset()
        self.adapter.app_users[self.app()] = None


@mutant("mutant-user-shared-between-devices", _ISOLATION,
        "The user id is stored in app-wide storage shared by every device, so identify() on "
        "one device attributes the other devices' events to that user.",
        also_breaks=(_LATER, _LINKS, _NO_MERGE, _FORGETS_USER, "client.binding.at-call"))  # fmt: skip
class _UserSharedBetweenDevices(_MutantAdapter):
    def __init__(self, collector: Collector, profile: str | None = None, seed: int = 0) -> None:
        super().__init__(collector, profile, seed)
        self.app_users: dict[str, str | None] = {}

    def open_client(self, storage_key: str) -> Any:
        return _AppGroupUser(super().open_client(storage_key), self)


class _PropertiesByReference(_ClientWrapper):
    def track(self, name: str, properties: Mapping[str, Any]) -> None:
        self.inner.track(name, properties)
        edit_last_call(self.outbox, properties=properties)


mutant("mutant-properties-by-reference", "client.payload.as-called",
       "track() queues the caller's properties dict itself, so changes the caller makes before "
       "the flush are sent.")(_client_mutant(_PropertiesByReference))  # fmt: skip


class _PropertiesShallowCopy(_ClientWrapper):
    def track(self, name: str, properties: Mapping[str, Any]) -> None:
        self.inner.track(name, properties)
        edit_last_call(self.outbox, properties=dict(properties))


mutant("mutant-properties-shallow-copy", "client.payload.as-called",
       "track() copies the properties dict shallowly, so nested lists and dicts the caller "
       "changes before the flush are sent changed.")(_client_mutant(_PropertiesShallowCopy))  # fmt: skip


# -- mutants of the SHOULD and MAY requirements ------------------------------------------------
@mutant("mutant-anonymous-id-not-persisted", _PERSISTS,
        "The anonymous id is kept in session storage only: a relaunch on the same storage "
        "resumes the user but starts a new anonymous id.", also_breaks=(_STABLE, _LINKS))  # fmt: skip
class _AnonymousIdNotPersisted(_MutantAdapter):
    def open_client(self, storage_key: str) -> Any:
        resumed = storage_key in self.sdk.storage
        client = super().open_client(storage_key)
        if resumed:
            replace_anonymous_id(client, self.sdk.ids.new_id())
        return client


class _ResetKeepsAnonymousId(_ClientWrapper):
    def reset(self) -> None:
        kept = self.inner.anonymous_id
        self.inner.reset()
        replace_anonymous_id(self.inner, kept)


mutant("mutant-reset-keeps-anonymous-id", "client.anonymous-id.rotates-on-reset",
       "reset() forgets the user and their traits but keeps the anonymous id, although the "
       "profile rotates it.", also_breaks=(_LINKS,))(_client_mutant(_ResetKeepsAnonymousId))  # fmt: skip


class _IdentifySameUserSendsNothing(_ClientWrapper):
    def identify(self, user_id: str, traits: Mapping[str, Any]) -> None:
        if user_id and user_id == self.inner.user_id:  # "nothing changed": store the traits only
            stored_identity(self.inner).traits.update(snapshot(traits))
            return
        self.inner.identify(user_id, traits)


mutant("mutant-identify-same-user-sends-nothing", "client.identify.emits-per-profile",
       "identify() of the user already identified stores the new traits but sends nothing, "
       "although the profile sends every identify.", also_breaks=("delivery.exactly-once",))(
    _client_mutant(_IdentifySameUserSendsNothing))  # fmt: skip


class _AliasNamesAnonymousId(_ClientWrapper):
    def alias(self, new_id: str) -> None:
        self.inner.alias(new_id)
        edit_last_call(self.outbox, previous_id=self.inner.anonymous_id)


mutant("mutant-alias-names-anonymous-id", "client.alias.names-both-ids",
       "alias() always names the anonymous id as the previous id, also when a user is "
       "identified and the previous id is the user's.", profile="segment")(
    _client_mutant(_AliasNamesAnonymousId))  # fmt: skip
