"""Policy profiles: the designed identity behaviour of each SDK family, as data.

A profile chooses among the design axes of ``SEMANTICS.md`` section 4 (id model, link
mechanism, what identify emits, identify-while-identified, reset rotation, persistence).
A profile states designed behaviour; it never excuses a core MUST requirement.
"""

from __future__ import annotations

import enum

import attrs

from simulator._errors import UnknownProfileError, describe


class IdModel(str, enum.Enum):
    """How the SDK names the current person on the wire (SEMANTICS knob 1)."""

    DUAL = "dual"
    """``userId`` and ``anonymousId`` side by side on every event (Segment, RudderStack)."""
    SWITCHING = "switching"
    """One ``distinct_id`` that switches from an anonymous value to the user id (PostHog, Mixpanel)."""
    DEVICE_USER = "device_user"
    """A stable ``device_id`` plus an optional ``user_id`` (Amplitude)."""


class Link(str, enum.Enum):
    """How a backend joins anonymous history to the identified user (knob 10)."""

    BOTH_IDS = "both_ids"
    MERGE_EVENT = "merge_event"
    DEVICE_MAP = "device_map"


class IdentifyEmits(str, enum.Enum):
    """When ``identify`` puts an event on the wire (knob 9)."""

    ALWAYS = "always"
    ON_CHANGE = "on_change"
    ON_ANONYMOUS_TO_IDENTIFIED = "on_anonymous_to_identified"
    NEVER = "never"


class IdentifyOther(str, enum.Enum):
    """What ``identify(u2)`` does while identified as ``u1`` (knob 11)."""

    ROTATE_ANONYMOUS = "rotate_anonymous"
    """A new anonymous id is generated; u2 starts fresh (Segment)."""
    RESET_KEEP_ANONYMOUS = "reset_keep_anonymous"
    """An automatic reset that keeps the anonymous id (RudderStack)."""
    SWITCH = "switch"
    """The current id switches to u2; no event, no merge (PostHog, Amplitude)."""
    SWITCH_EMIT_MERGE = "switch_emit_merge"
    """Switch and emit a merge naming u1 as the previous id; the backend must refuse it (Mixpanel)."""


@attrs.frozen
class Profile:
    """One SDK family's designed identity behaviour."""

    name: str
    description: str
    id_model: IdModel = IdModel.DUAL
    link: Link = Link.BOTH_IDS
    identify_emits: IdentifyEmits = IdentifyEmits.ALWAYS
    identify_other: IdentifyOther = IdentifyOther.ROTATE_ANONYMOUS
    reset_rotates_anonymous_id: bool = True
    device_id_starts_as_anonymous_id: bool = False
    """Switching ids: a new device's device id is its first anonymous id (PostHog's
    ``$device_id = distinct_id`` at init), not an id of its own (Mixpanel's raw uuid)."""
    reset_rotates_device_id: bool = False
    """Switching ids: reset draws a new device id too (Mixpanel, SEMANTICS.md knob 18)."""
    persistence: bool = True
    """Identity survives closing the client and opening a new one on the same storage."""
    identify_carries_merged_traits: bool = False
    """An identify event carries every trait set since the last reset, not only this call's."""
    alias_supported: bool = False
    ordered_delivery: bool = True
    client_sdk: bool = True
    server_sdk: bool = True
    exit_seconds: float = 5.0
    """How long a process that used the server SDK may take to exit after its last call, with no
    flush or shutdown called (``server.exit.bounded``)."""
    source: str = ""
    """Where the designed behaviour is documented."""


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            name="seed",
            description="The strict semantics of the seed document: automatic anonymous ids, "
            "identify links earlier events, reset forgets, servers keep nothing.",
            source="seed/anonymous-user-id.txt",
        ),
        Profile(
            name="segment",
            description="Segment analytics-next / analytics-python: dual ids, identify always "
            "emits with merged traits, identify-other rotates the anonymous id.",
            identify_carries_merged_traits=True,
            alias_supported=True,
            source="SEMANTICS.md 2.1, 5.2",
        ),
        Profile(
            name="rudderstack",
            description="RudderStack: dual ids; identify-other is an automatic reset that keeps "
            "the anonymous id; reset keeps the anonymous id.",
            identify_other=IdentifyOther.RESET_KEEP_ANONYMOUS,
            reset_rotates_anonymous_id=False,
            identify_carries_merged_traits=True,
            alias_supported=True,
            source="SEMANTICS.md 2.5, 5.3",
        ),
        Profile(
            name="posthog",
            description="PostHog: switching distinct_id plus stable $device_id (at first the "
            "distinct_id itself); $identify merge event only on anonymous-to-identified; "
            "identify-other switches silently.",
            id_model=IdModel.SWITCHING,
            link=Link.MERGE_EVENT,
            identify_emits=IdentifyEmits.ON_ANONYMOUS_TO_IDENTIFIED,
            identify_other=IdentifyOther.SWITCH,
            device_id_starts_as_anonymous_id=True,
            alias_supported=True,
            source="SEMANTICS.md 2.2, 5.4",
        ),
        Profile(
            name="mixpanel",
            description="Mixpanel: switching distinct_id; $identify whenever the distinct id "
            "changes, naming the previous id (the backend refuses to merge two users); reset "
            "draws a new $device_id too.",
            id_model=IdModel.SWITCHING,
            link=Link.MERGE_EVENT,
            identify_emits=IdentifyEmits.ON_CHANGE,
            identify_other=IdentifyOther.SWITCH_EMIT_MERGE,
            reset_rotates_device_id=True,
            alias_supported=True,
            source="SEMANTICS.md 2.4, 5.5",
        ),
        Profile(
            name="amplitude",
            description="Amplitude: device_id plus optional user_id; the seed's identify is "
            "setUserId plus identify(), whose $identify event carries both ids; the backend maps "
            "device to user; reset regenerates the device id.",
            id_model=IdModel.DEVICE_USER,
            link=Link.DEVICE_MAP,
            identify_other=IdentifyOther.SWITCH,
            source="SEMANTICS.md 2.3, 5.6",
        ),
        Profile(
            name="snowplow",
            description="Snowplow: user id (uid) and domain user id (duid) on every event; no "
            "identify call, so the seed's identify is recorded as an event carrying both ids; no "
            "alias; the backend joins the ids.",
            identify_other=IdentifyOther.SWITCH,
            source="SEMANTICS.md 5.7",
        ),
    )
}


def get_profile(name: object) -> Profile:
    """Return the registered profile called ``name``; raise naming the choices otherwise."""
    if isinstance(name, Profile):
        return name
    if not isinstance(name, str):
        msg = (
            f"profile must be a profile name (str) or a Profile (got {describe(name)}). "
            f"Use one of: {', '.join(sorted(PROFILES))}."
        )
        raise UnknownProfileError(msg)
    try:
        return PROFILES[name]
    except KeyError:
        msg = f"unknown profile {describe(name)}. Use one of: {', '.join(sorted(PROFILES))}."
        raise UnknownProfileError(msg) from None
