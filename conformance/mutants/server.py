"""Server mutants: server SDKs that keep state between calls or change the ids they are given.

Each names its primary requirement (``breaks``) and the knock-on failures full runs
show (``also_breaks``); the mutant sweep (``conformance.report.sweep``) checks both.
Over 400 lines on purpose: thirty-odd small, independent mutants, one family, kept in one
module so that the registry order (the sweep's and the report's) is this file's order.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any, cast

import attrs

from conformance.collector.store import Collector
from conformance.mutants.base import Mutant, _DeliveryMutant, _MutantAdapter, registrar
from simulator import DeliveryError, Event, Kind, snapshot
from simulator.testing import (
    QueuedCall,
    WireIds,
    queue_call,
    queued_calls,
    replace_queued_call,
)

MUTANTS: list[Mutant] = []
mutant = registrar(MUTANTS)

_AT_LEAST_ONE = "server.ids.at-least-one"
_AS_GIVEN = "server.ids.exactly-as-given"
_CARRY_OVER = "server.state.no-carry-over"
_IDENTIFY_NOTHING = "server.state.identify-changes-nothing"
_NOT_RETAINED = "server.arguments.not-retained"
_BOTH_LINK = "server.ids.both-link"
_NOT_OVERRIDDEN = "server.ids.not-overridden-by-data"


@mutant("mutant-server-caches-user", _CARRY_OVER,
        "The server SDK remembers the last user id of the batch and fills it into later calls "
        "of the batch that omit it.", scope="server",
        also_breaks=(_AT_LEAST_ONE, _IDENTIFY_NOTHING, _BOTH_LINK))  # fmt: skip
class _ServerCachesUser(_MutantAdapter):
    last_user: str | None = None

    def track(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
              anonymous_id: str | None) -> None:  # fmt: skip
        if user_id:
            self.last_user = user_id
        super().track(event, properties, user_id=user_id or self.last_user,
                      anonymous_id=anonymous_id)  # fmt: skip

    def flush(self) -> None:
        self.last_user = None  # the cache lives as long as the batch
        super().flush()


@mutant("mutant-server-caches-anonymous-id", _CARRY_OVER,
        "The server SDK remembers the last anonymous id of the batch and fills it into later "
        "calls of the batch that omit it.", scope="server",
        also_breaks=(_AT_LEAST_ONE, _IDENTIFY_NOTHING, _BOTH_LINK))  # fmt: skip
class _ServerCachesAnonymousId(_MutantAdapter):
    last_anonymous: str | None = None

    def track(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
              anonymous_id: str | None) -> None:  # fmt: skip
        if anonymous_id:
            self.last_anonymous = anonymous_id
        super().track(event, properties, user_id=user_id,
                      anonymous_id=anonymous_id or self.last_anonymous)  # fmt: skip

    def flush(self) -> None:
        self.last_anonymous = None  # the cache lives as long as the batch
        super().flush()


@mutant("mutant-server-identify-sets-default-user", _IDENTIFY_NOTHING,
        "Server identify() sets a default user id that later calls of the batch without a "
        "user id use.", scope="server",
        also_breaks=(_AT_LEAST_ONE, _CARRY_OVER, _BOTH_LINK))  # fmt: skip
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


@mutant("mutant-server-traits-carry-over", _CARRY_OVER,
        "Server identify() merges its traits into a per-batch context, so each identify sends "
        "the traits of the earlier identify calls of the batch too.", scope="server")  # fmt: skip
class _ServerTraitsCarryOver(_MutantAdapter):
    def __init__(self, collector: Collector, profile: str | None = None, seed: int = 0) -> None:
        super().__init__(collector, profile, seed)
        self.context: dict[str, Any] = {}

    def identify(self, *, user_id: str | None, anonymous_id: str | None,
                 traits: Mapping[str, Any]) -> None:  # fmt: skip
        self.context.update(traits)
        super().identify(user_id=user_id, anonymous_id=anonymous_id, traits=self.context)

    def flush(self) -> None:
        self.context.clear()
        super().flush()


@mutant("mutant-server-mutates-properties", _NOT_RETAINED,
        "Server track() writes its library name into the caller's properties dict instead of "
        "into a copy.", scope="server", also_breaks=(_CARRY_OVER,))  # fmt: skip
class _ServerMutatesProperties(_MutantAdapter):
    def track(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
              anonymous_id: str | None) -> None:  # fmt: skip
        cast("dict[str, Any]", properties)["library"] = "reference"
        super().track(event, properties, user_id=user_id, anonymous_id=anonymous_id)


@mutant("mutant-server-exit-drops-queue", "server.exit.delivers",
        "The server SDK registers no exit hook: what it queued since the last flush is lost when "
        "the process ends.", scope="server")  # fmt: skip
class _ServerExitDropsQueue(_MutantAdapter):
    EXIT_HOOK = "pass  # no exit hook"


@mutant("mutant-server-exit-hook-blocks", "server.exit.bounded",
        "The server SDK's exit hook delivers, then waits a minute for a consumer that never "
        "stops, so the process hangs at exit.", scope="server")  # fmt: skip
class _ServerExitHookBlocks(_MutantAdapter):
    EXIT_HOOK = "atexit.register(lambda: (adapter.flush(), __import__('time').sleep(60)))"


@mutant("mutant-server-retries-forever", "server.exit.bounded",
        "The server SDK retries a failed delivery until the collector answers, however long that "
        "takes: outages that end are survived, but a process that ends while the endpoint is down "
        "never exits.", scope="server")  # fmt: skip
class _ServerRetriesForever(_DeliveryMutant):
    def deliver_batch(self, events: list[Event]) -> None:
        while True:  # no attempt limit: the planted bug
            try:
                self.send_batch(events)
            except DeliveryError:  # noqa: PERF203  (a retry loop: the try is the point)
                time.sleep(0.05)
            else:
                return


@mutant("mutant-server-data-overrides-ids", _NOT_OVERRIDDEN,
        "Server track() builds the message from its own fields and then the caller's properties, "
        "so a 'distinct_id' or 'user_id' property replaces the user id (mixpanel-python merges "
        "properties over distinct_id so).", scope="server", also_breaks=(_BOTH_LINK,))  # fmt: skip
class _ServerDataOverridesIds(_MutantAdapter):
    def track(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
              anonymous_id: str | None) -> None:  # fmt: skip
        for key in ("distinct_id", "user_id"):
            if isinstance(properties.get(key), str):
                user_id = properties[key]
        super().track(event, properties, user_id=user_id, anonymous_id=anonymous_id)


@mutant("mutant-server-mutates-traits", _NOT_RETAINED,
        "Server identify() adds a key of its own to the caller's traits dict instead of to a "
        "copy (posthog-python's set() inside a new_context() adds $context_tags so).",
        scope="server")  # fmt: skip
class _ServerMutatesTraits(_MutantAdapter):
    def identify(self, *, user_id: str | None, anonymous_id: str | None,
                 traits: Mapping[str, Any]) -> None:  # fmt: skip
        cast("dict[str, Any]", traits)["$context_tags"] = []
        super().identify(user_id=user_id, anonymous_id=anonymous_id, traits=traits)


@mutant("mutant-server-properties-by-reference", _NOT_RETAINED,
        "Server track() queues the caller's properties dict itself, so changes the caller "
        "makes before the flush are sent.", scope="server", also_breaks=(_CARRY_OVER,))  # fmt: skip
class _ServerPropertiesByReference(_MutantAdapter):
    def track(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
              anonymous_id: str | None) -> None:  # fmt: skip
        super().track(event, properties, user_id=user_id, anonymous_id=anonymous_id)
        outbox = self.sdk.outbox
        calls = queued_calls(outbox)
        for i in range(len(calls) - 1, -1, -1):  # other threads may have queued since
            if calls[i].name == event:
                replace_queued_call(outbox, i, attrs.evolve(calls[i], properties=properties))
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


@mutant("mutant-server-identity-per-thread", "server.threads.isolated",
        "Server track_async() keeps the call's identity in a thread-local across its await, as an "
        "SDK that scopes identity per thread rather than per context does, so asyncio tasks on one "
        "event loop send each other's ids (threads stay isolated).", scope="server")  # fmt: skip
class _ServerIdentityPerThread(_MutantAdapter):
    def __init__(self, collector: Collector, profile: str | None = None, seed: int = 0) -> None:
        super().__init__(collector, profile, seed)
        self._local = threading.local()

    async def track_async(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
                          anonymous_id: str | None) -> None:  # fmt: skip
        self._local.ids = (user_id, anonymous_id)
        await asyncio.sleep(0)  # the handler's await: the other tasks set their ids here
        user_id, anonymous_id = self._local.ids
        self.track(event, properties, user_id=user_id, anonymous_id=anonymous_id)


@mutant("mutant-server-accepts-no-ids", _AT_LEAST_ONE,
        "Server track() has no at-least-one-id check: a call with neither id is sent with no "
        "ids.", scope="server")  # fmt: skip
class _ServerAcceptsNoIds(_MutantAdapter):
    def track(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
              anonymous_id: str | None) -> None:  # fmt: skip
        if not user_id and not anonymous_id:  # None or "": neither names anyone
            queue_call(self.sdk.outbox, QueuedCall(Kind.TRACK, event, WireIds(source="server"),
                                                   properties=snapshot(properties)))  # fmt: skip
            return
        super().track(event, properties, user_id=user_id, anonymous_id=anonymous_id)


@mutant("mutant-server-drops-anonymous-id", _AS_GIVEN,
        "Server track() drops the anonymous id when a user id is also given.",
        scope="server", also_breaks=(_BOTH_LINK,))  # fmt: skip
class _ServerDropsAnonymousId(_MutantAdapter):
    def track(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
              anonymous_id: str | None) -> None:  # fmt: skip
        super().track(event, properties, user_id=user_id,
                      anonymous_id=None if user_id else anonymous_id)  # fmt: skip


@mutant("mutant-server-swaps-ids", _AS_GIVEN,
        "Server identify() given both ids sends them in each other's place.",
        scope="server", also_breaks=(_BOTH_LINK,))  # fmt: skip
class _ServerSwapsIds(_MutantAdapter):
    def identify(self, *, user_id: str | None, anonymous_id: str | None,
                 traits: Mapping[str, Any]) -> None:  # fmt: skip
        if user_id is not None and anonymous_id is not None:
            user_id, anonymous_id = anonymous_id, user_id
        super().identify(user_id=user_id, anonymous_id=anonymous_id, traits=traits)


@mutant("mutant-server-ascii-ids", _AS_GIVEN,
        "The server SDK encodes ids as ASCII and silently drops the other characters.",
        scope="server", also_breaks=(_BOTH_LINK,))  # fmt: skip
class _ServerAsciiIds(_MutantAdapter):
    def track(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
              anonymous_id: str | None) -> None:  # fmt: skip
        def ascii_only(value: str | None) -> str | None:
            return value and value.encode("ascii", "ignore").decode()

        super().track(event, properties, user_id=ascii_only(user_id),
                      anonymous_id=ascii_only(anonymous_id))  # fmt: skip


def _rewriting(rewrite: Any) -> Any:
    """A track that sends each id through ``rewrite`` (None stays None)."""
    def track(self: _MutantAdapter, event: str, properties: Mapping[str, Any], *,
              user_id: str | None, anonymous_id: str | None) -> None:  # fmt: skip
        _MutantAdapter.track(self, event, properties,
                             user_id=None if user_id is None else rewrite(user_id),
                             anonymous_id=None if anonymous_id is None else rewrite(anonymous_id))  # fmt: skip

    return track


@mutant("mutant-server-lowercases-ids", _AS_GIVEN,
        "Server track() lower-cases the ids it is given ('User@Example.com' arrives as "
        "'user@example.com').", scope="server", also_breaks=(_BOTH_LINK,))  # fmt: skip
class _ServerLowercasesIds(_MutantAdapter):
    track = _rewriting(str.lower)


@mutant("mutant-server-trims-ids", _AS_GIVEN,
        "Server track() strips surrounding whitespace from the ids it is given.",
        scope="server", also_breaks=(_BOTH_LINK,))  # fmt: skip
class _ServerTrimsIds(_MutantAdapter):
    track = _rewriting(lambda value: value.strip() or value)


@mutant("mutant-server-truncates-ids", _AS_GIVEN,
        "Server track() silently truncates ids to 255 characters instead of refusing longer "
        "ones.", scope="server", also_breaks=(_BOTH_LINK,))  # fmt: skip
class _ServerTruncatesIds(_MutantAdapter):
    track = _rewriting(lambda value: value[:255])


@mutant("mutant-server-ids-as-numbers", _AS_GIVEN,
        "Server track() takes a digit-only id for a number and sends it back as a string, so "
        "'007' arrives as '7' and '00042' as '42'.", scope="server",
        also_breaks=(_BOTH_LINK,))  # fmt: skip
class _ServerIdsAsNumbers(_MutantAdapter):
    track = _rewriting(lambda value: str(int(value)) if value.isdecimal() else value)


@mutant("mutant-server-hashes-email-ids", _AS_GIVEN,
        "Server track() sends an id that looks like an email address as its SHA-256 hex digest "
        "(a privacy option switched on by default).", scope="server",
        also_breaks=(_BOTH_LINK,))  # fmt: skip
class _ServerHashesEmailIds(_MutantAdapter):
    track = _rewriting(
        lambda value: hashlib.sha256(value.encode()).hexdigest() if "@" in value else value
    )


@mutant("mutant-server-empty-string-is-an-id", _AT_LEAST_ONE,
        "Server track() checks only for None: a call whose ids are empty strings is sent.",
        scope="server")  # fmt: skip
class _ServerEmptyStringIsAnId(_MutantAdapter):
    def track(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
              anonymous_id: str | None) -> None:  # fmt: skip
        if not user_id and not anonymous_id and (user_id == "" or anonymous_id == ""):
            ids = WireIds(source="server")  # the empty strings are not ids: none is sent
            queue_call(self.sdk.outbox, QueuedCall(Kind.TRACK, event, ids,
                                                   properties=snapshot(properties)))  # fmt: skip
            return
        super().track(event, properties, user_id=user_id, anonymous_id=anonymous_id)


# -- what a call gives beside its data: timestamp, message id, context --------------------------
_TIMESTAMP = "server.arguments.timestamp-as-given"
_MESSAGE_ID = "server.arguments.message-id-as-given"
_CONTEXT = "server.arguments.context-as-given"


class _OptionsMutant(_MutantAdapter):
    """A mutant of ``track_with_options``: ``options`` rewrites what the call gave."""

    def track_with_options(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
                           anonymous_id: str | None, timestamp: datetime | None = None,
                           message_id: str | None = None, context: dict[str, Any] | None = None) -> None:  # fmt: skip
        given = self.options({"timestamp": timestamp, "message_id": message_id, "context": context})
        super().track_with_options(event, properties, user_id=user_id, anonymous_id=anonymous_id, **given)

    def options(self, given: dict[str, Any]) -> dict[str, Any]:
        return given


@mutant("mutant-server-timestamp-is-send-time", _TIMESTAMP,
        "Server track() ignores the timestamp it is given and stamps the event when it is "
        "sent.", scope="server")  # fmt: skip
class _ServerTimestampIsSendTime(_OptionsMutant):
    def options(self, given: dict[str, Any]) -> dict[str, Any]:
        return {**given, "timestamp": None}


@mutant("mutant-server-timestamp-offset-dropped", _TIMESTAMP,
        "Server track() reads the timestamp's wall-clock digits as UTC, dropping its UTC offset.",
        scope="server")  # fmt: skip
class _ServerTimestampOffsetDropped(_OptionsMutant):
    def options(self, given: dict[str, Any]) -> dict[str, Any]:
        stamp = given["timestamp"]
        return {**given, "timestamp": stamp and stamp.replace(tzinfo=timezone.utc)}


@mutant("mutant-server-new-message-id", _MESSAGE_ID,
        "Server track() assigns a message id of its own even when the call gives one.",
        scope="server")  # fmt: skip
class _ServerNewMessageId(_OptionsMutant):
    def options(self, given: dict[str, Any]) -> dict[str, Any]:
        return {**given, "message_id": None}


@mutant("mutant-server-writes-into-context", _NOT_RETAINED,
        "Server track() writes its library into the caller's context dict instead of into a copy "
        "(segment-analytics-python's track() does so, SEMANTICS.md 5.2).", scope="server")  # fmt: skip
class _ServerWritesIntoContext(_OptionsMutant):
    def options(self, given: dict[str, Any]) -> dict[str, Any]:
        if given["context"] is not None:
            given["context"]["library"] = {"name": "reference", "version": "0"}
        return given


@mutant("mutant-server-identify-writes-into-context", _NOT_RETAINED,
        "Server identify() writes its library into the caller's context dict instead of into a "
        "copy (rudder-sdk-python's identify writes traits and library there, SEMANTICS.md 5.3).",
        scope="server")  # fmt: skip
class _ServerIdentifyWritesIntoContext(_MutantAdapter):
    def identify_with_context(self, *, user_id: str | None, anonymous_id: str | None,
                              traits: Mapping[str, Any], context: dict[str, Any] | None) -> None:  # fmt: skip
        if context is not None:
            context["library"] = {"name": "reference", "version": "0"}
        super().identify_with_context(user_id=user_id, anonymous_id=anonymous_id, traits=traits,
                                      context=context)  # fmt: skip


@mutant("mutant-server-context-carries-over", _CARRY_OVER,
        "Server track() merges each call's context into a default context that later calls of "
        "the batch send too.", scope="server")  # fmt: skip
class _ServerContextCarriesOver(_OptionsMutant):
    default_context: dict[str, Any] | None = None

    def options(self, given: dict[str, Any]) -> dict[str, Any]:
        if given["context"] is None and self.default_context is None:
            return given
        self.default_context = {**(self.default_context or {}), **(given["context"] or {})}
        return {**given, "context": self.default_context}

    def flush(self) -> None:
        self.default_context = None  # the default lives as long as the batch
        super().flush()


@mutant("mutant-server-context-by-reference", _CONTEXT,
        "Server track() queues the caller's context dict itself, so changes the caller makes "
        "before the flush are sent.", scope="server")  # fmt: skip
class _ServerContextByReference(_OptionsMutant):
    def track_with_options(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
                           anonymous_id: str | None, timestamp: datetime | None = None,
                           message_id: str | None = None, context: dict[str, Any] | None = None) -> None:  # fmt: skip
        super().track_with_options(event, properties, user_id=user_id, anonymous_id=anonymous_id,
                                   timestamp=timestamp, message_id=message_id, context=context)  # fmt: skip
        outbox = self.sdk.outbox
        calls = queued_calls(outbox)
        for i in range(len(calls) - 1, -1, -1):
            given = calls[i].given
            if calls[i].name == event and given is not None and context is not None:
                replace_queued_call(outbox, i, attrs.evolve(calls[i], given=(given[0], given[1], context)))
                break


# -- mutants of the SHOULD requirements --------------------------------------------------------
@mutant("mutant-server-identify-drops-anonymous-id", _BOTH_LINK,
        "Server identify() given both ids sends only the user id, so it never links the "
        "anonymous id's earlier events to the user.", scope="server",
        also_breaks=(_AS_GIVEN,))  # fmt: skip
class _ServerIdentifyDropsAnonymousId(_MutantAdapter):
    def identify(self, *, user_id: str | None, anonymous_id: str | None,
                 traits: Mapping[str, Any]) -> None:  # fmt: skip
        super().identify(user_id=user_id, anonymous_id=None if user_id else anonymous_id,
                         traits=traits)  # fmt: skip
