"""The requirement registry: every rule the suite checks, as data with a stable id.

Ids are rename-proof: reports, expected-failure files and test names key on them, so an
id is never reused for a different rule and never changed once published.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping

import attrs

SEED = "seed/anonymous-user-id.txt"


class Level(str, enum.Enum):
    """RFC 2119 requirement level."""

    MUST = "MUST"
    SHOULD = "SHOULD"
    MAY = "MAY"


class Scope(str, enum.Enum):
    """Which machine checks the requirement."""

    CLIENT = "client"
    SERVER = "server"
    DELIVERY = "delivery"


@attrs.frozen
class Requirement:
    """One checkable rule."""

    id: str
    level: Level
    statement: str
    core: bool
    """Core rules bind every SDK; the others follow the SDK's declared profile."""
    source: str
    """The seed sentence or public document the rule derives from."""
    capability: str | None = None
    """The adapter capability the rule needs; without it the rule is skipped with a reason."""

    @property
    def scope(self) -> Scope:
        """The machine that checks this rule, from the id's first segment."""
        return Scope(self.id.split(".", 1)[0])

    def to_json(self) -> dict[str, object]:
        """JSON-ready form, as printed by ``identity-conformance requirements --json``."""
        return {
            "id": self.id,
            "level": self.level.value,
            "scope": self.scope.value,
            "core": self.core,
            "statement": self.statement,
            "source": self.source,
            "capability": self.capability,
        }


_S_ANON = (
    f"{SEED}: 'analytics SDKs automatically assign anonymous user ids on a per-client level' "
    "... 'you are not required to provide anonymousUserId anywhere.'"
)
_S_LINK = f"{SEED}: 'When a user is identified the anonymous events are associated with the identified user.'"
_S_STORE = (
    f"{SEED}: 'Client side Analytics SDKs can store the information about the currently logged "
    "in user. It makes possible to identify user once and then send all subsequent tracking calls "
    "on behalf of the identified user.'"
)
_S_IDENTIFY = f"{SEED}: 'Codegen corresponding to the events with Identify action will require a userId parameter automatically.'"
_S_SERVER_NONE = f"{SEED}: 'Server side Codegen does not have a way to maintain user identity.'"
_S_SERVER_ONE = (
    f"{SEED}: 'Though both anonymousUserId and userId are optional make sure to provide one of "
    "them to be able to identify the user.'"
)
_S_SERVER_EVERY = (
    f"{SEED}: 'The Identify action does not change the server codegen functions. Every single "
    "function is effectively an identify function, because you need to provide user id all the time.'"
)
_S_SERVER_ANON = (
    f"{SEED}: 'if you want to associate events with particular users before they identify, you "
    "need to pass the anonymousUserId string parameter'"
)
_S_EXIT = ("SEMANTICS.md 5.2-5.6: server SDKs register exit hooks (an atexit join of the consumer, a "
           "best-effort atexit flush, threading._register_atexit) that decide what a process that ends "
           "without flush() delivers and how long its exit takes")
_S_COMMON = "Segment Spec, common fields (segmentio/segment-docs src/connections/spec/common.md)"
_S_SPEC = _S_COMMON + ": messageId"
_S_OUTAGE = ("SEMANTICS.md 5.2-5.8: server SDKs retry 5xx, 429 and network errors a bounded number of "
             "times, and report what they give up on (an error raised, an error logged, a failure callback)")
_S_RESET = "SEMANTICS.md 1.2: reset() = log out: forget the user (Segment, PostHog, Amplitude, Mixpanel, RudderStack docs)"

REQUIREMENTS: tuple[Requirement, ...] = (
    # -- client ---------------------------------------------------------------------------
    Requirement(
        "client.anonymous-id.automatic", Level.MUST,
        "Every event from a client carries an anonymous (or device) id that the SDK assigned "
        "itself; the caller is never asked for one.",
        core=True, source=_S_ANON,
    ),
    Requirement(
        "client.anonymous-id.stable", Level.MUST,
        "A client's anonymous id stays the same between identity-changing operations "
        "(identify as another user, reset).",
        core=True, source=_S_ANON,
    ),
    Requirement(
        "client.anonymous-id.per-client", Level.MUST,
        "Two clients on different storage (devices) never share an anonymous id.",
        core=True, source=_S_ANON + " (per-client level)",
    ),
    Requirement(
        "client.anonymous-id.persists", Level.SHOULD,
        "A new SDK instance opened on the same storage resumes the stored anonymous id and user.",
        core=False, source=_S_STORE + "; SEMANTICS.md knob 4 (stores)", capability="persistence",
    ),
    Requirement(
        "client.anonymous-id.rotates-on-reset", Level.SHOULD,
        "After reset the client uses a new anonymous id, where the profile says reset rotates it.",
        core=False, source="SEMANTICS.md knob 17 (reset_anon_id)", capability="reset",
    ),
    Requirement(
        "client.identify.requires-user-id", Level.MUST,
        "identify without a user id (None or empty) is refused with a clear error, and nothing "
        "is sent.",
        core=True, source=_S_IDENTIFY,
    ),
    Requirement(
        "client.identify.later-events-carry-user", Level.MUST,
        "After identify(u), every later event of that client carries u until reset or another "
        "identify.",
        core=True, source=_S_STORE,
    ),
    Requirement(
        "client.identify.links-earlier-anonymous-events", Level.MUST,
        "After identify(u), every earlier anonymous event of that client since the last reset "
        "resolves to u downstream, whatever link mechanism the profile uses.",
        core=True, source=_S_LINK,
    ),
    Requirement(
        "client.identify.emits-per-profile", Level.SHOULD,
        "identify puts an event on the wire exactly when the profile says it does (always, on a "
        "change of id, on anonymous-to-identified, or never).",
        core=False, source="SEMANTICS.md knob 9 (identify_emits)",
    ),
    Requirement(
        "client.identify.no-merge-of-identified-users", Level.MUST,
        "identify(u2) while identified as u1 never merges the histories of u1 and u2: no event "
        "of one resolves to the other, and u1's traits do not follow u2.",
        core=True, source=_S_LINK + "; SEMANTICS.md 7 (servers refuse to merge two identified persons)",
    ),
    Requirement(
        "client.reset.forgets-user", Level.MUST,
        "After reset no later event carries, or resolves to, the previous user.",
        core=True, source=_S_RESET, capability="reset",
    ),
    Requirement(
        "client.reset.forgets-traits", Level.MUST,
        "After reset the previous user's traits appear on no later event.",
        core=True, source=_S_RESET, capability="reset",
    ),
    Requirement(
        "client.binding.at-call", Level.MUST,
        "An event carries the identity that was current when it was called, not one set "
        "afterwards (before delivery).",
        core=True, source=_S_STORE,
    ),
    Requirement(
        "client.isolation.between-clients", Level.MUST,
        "One client's user id, traits or anonymous id never appear on another client's events.",
        core=True, source=_S_ANON + " (per-client level)",
    ),
    Requirement(
        "client.payload.as-called", Level.MUST,
        "An event's name and properties arrive as they were at the call, even when the caller "
        "reuses and changes the objects it passed.",
        core=True, source=_S_STORE,
    ),
    Requirement(
        "client.alias.names-both-ids", Level.MAY,
        "alias(new) sends an alias naming the new id and the current id as the previous id, and "
        "changes nothing else.",
        core=False, source="Segment Spec alias (src/connections/spec/alias.md); SEMANTICS.md knob 21",
        capability="alias",
    ),
    # -- server ---------------------------------------------------------------------------
    Requirement(
        "server.ids.at-least-one", Level.MUST,
        "A call with neither user id nor anonymous id is refused with a clear error, and "
        "nothing is sent.",
        core=True, source=_S_SERVER_ONE,
    ),
    Requirement(
        "server.ids.exactly-as-given", Level.MUST,
        "Each event carries exactly the ids given in its own call, unchanged, and no others.",
        core=True, source=_S_SERVER_EVERY,
    ),
    Requirement(
        "server.ids.not-overridden-by-data", Level.MUST,
        "Caller data never changes the ids of its call: a property named like an SDK field "
        "(distinct_id, user_id, time, token, ...) leaves the event's ids exactly as given.",
        core=True, source=_S_SERVER_EVERY,
    ),
    Requirement(
        "server.state.no-carry-over", Level.MUST,
        "Nothing of one call (ids, traits, properties, context) appears on a later call's event.",
        core=True, source=_S_SERVER_NONE,
    ),
    Requirement(
        "server.state.identify-changes-nothing", Level.MUST,
        "An identify call changes nothing for later calls.",
        core=True, source=_S_SERVER_EVERY, capability="identify",
    ),
    Requirement(
        "server.arguments.not-retained", Level.MUST,
        "An event carries the caller's properties and traits as they were at the call, even when "
        "the caller reuses and changes the objects afterwards, and the SDK does not change them "
        "(nor a context dict the call gives).",
        core=True, source=_S_SERVER_NONE,
    ),
    Requirement(
        "server.arguments.timestamp-as-given", Level.MUST,
        "A timestamp the call gives (when it happened) is its event's time on the wire: the "
        "same instant, to the millisecond, whatever its UTC offset.",
        core=True, source=_S_COMMON + ": timestamp; SEMANTICS.md 5.2-5.6 (track's timestamp argument)",
        capability="timestamp",
    ),
    Requirement(
        "server.arguments.message-id-as-given", Level.MUST,
        "A message id the call gives (the dedup key) is its event's message id on the wire, "
        "unchanged.",
        core=True, source=_S_COMMON + ": messageId; SEMANTICS.md 5.2-5.6 (track's message_id argument)",
        capability="message-id",
    ),
    Requirement(
        "server.arguments.context-as-given", Level.MUST,
        "Every key of a context the call gives arrives in its event's context with its value as "
        "at the call (the SDK may add keys of its own), even when the caller reuses and changes "
        "the dict afterwards.",
        core=True, source=_S_COMMON + ": context; SEMANTICS.md 5.2, 5.3 (track's context argument)",
        capability="context",
    ),
    Requirement(
        "server.threads.isolated", Level.MUST,
        "Concurrent calls from many threads are each attributed only to their own ids.",
        core=True, source=_S_SERVER_NONE, capability="threads",
    ),
    Requirement(
        "server.ids.both-link", Level.SHOULD,
        "A call with both ids links them: the anonymous id's earlier anonymous events resolve "
        "to the user.",
        core=True, source=_S_SERVER_ANON,
    ),
    Requirement(
        "server.exit.bounded", Level.MUST,
        "A process that used the server SDK exits within the profile's exit bound after its last "
        "call, with no flush or shutdown called.",
        core=True, source=_S_EXIT, capability="exit",
    ),
    Requirement(
        "server.exit.delivers", Level.SHOULD,
        "Events the server SDK accepted before its process exits are delivered before the process "
        "ends, with no flush or shutdown called.",
        core=True, source=_S_EXIT, capability="exit",
    ),
    # -- delivery -------------------------------------------------------------------------
    Requirement(
        "delivery.exactly-once", Level.MUST,
        "After flush, every accepted call has arrived exactly once (counting a retried message "
        "once), and nothing else has arrived.",
        core=True, source=_S_SPEC + " (deduplication key)",
    ),
    Requirement(
        "delivery.message-id.unique", Level.MUST,
        "Distinct calls carry distinct message ids.",
        core=True, source=_S_SPEC,
    ),
    Requirement(
        "delivery.retry.same-message-id", Level.MUST,
        "A batch resent after a failed delivery carries the same message ids as the first attempt.",
        core=True, source=_S_SPEC + "; SEMANTICS.md 5.2 (retries)", capability="retries",
    ),
    Requirement(
        "delivery.outage.no-silent-loss", Level.MUST,
        "An event accepted while the collector fails (a 5xx, a 429 with Retry-After, a connection "
        "closed with no answer) arrives once the collector has recovered and the SDK is flushed "
        "again, unless the SDK told the caller: an error from the call or from a flush, or a "
        "warning or error it logged.",
        core=True, source=_S_OUTAGE,
    ),
    Requirement(
        "delivery.order.per-client", Level.SHOULD,
        "Events of one client arrive in the order they were called.",
        core=False, source="SEMANTICS.md knob 16 (replay in order)",
    ),
)  # fmt: skip

BY_ID: Mapping[str, Requirement] = {r.id: r for r in REQUIREMENTS}


def get_requirement(requirement_id: str) -> Requirement:
    """The requirement with this id; raise naming the unknown id otherwise."""
    try:
        return BY_ID[requirement_id]
    except KeyError:
        msg = (
            f"unknown requirement id {requirement_id!r} of type {type(requirement_id).__name__}. "
            "Run `identity-conformance requirements` to list the ids."
        )
        raise KeyError(msg) from None
