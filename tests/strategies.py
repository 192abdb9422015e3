"""Shared Hypothesis strategies for the tests, and a driver that replays client operations.

The strategies describe what real callers pass: a small pool of user ids (so the same
users recur: identify A, reset, identify A again), JSON-shaped traits and properties, and
event names with some Unicode. ``client_programs`` draws operation sequences over several
devices; :func:`drive` replays one against a :class:`simulator.ReferenceSDK` and records,
for every call, which wire events it produced, so a test can state a rule of the seed
directly against the wire.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterator, Sequence
from typing import Any

import attrs
from hypothesis import note
from hypothesis import strategies as st

from simulator import PROFILES, Event, IdModel, Kind, Link, Profile, ReferenceClient, ReferenceSDK

DEVICES = ("phone", "laptop", "tablet")
USER_IDS = ("u1", "u2", "u3", "ünï-4 ✓")

# -- ids, names, payloads -----------------------------------------------------------------------
user_ids = st.sampled_from(USER_IDS) | st.text(min_size=1, max_size=6)
"""Non-empty user ids: mostly a small recurring pool, sometimes arbitrary text."""
anonymous_ids = st.sampled_from(("anon-a", "anon-b", "ånon-c")) | st.uuids().map(str)
"""Anonymous ids a server caller passes on (the ones a client assigned)."""
devices = st.sampled_from(DEVICES)
keys = st.sampled_from(("plan", "email", "items", "price")) | st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=6
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=8),
)
json_values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=5,
)
properties = st.dictionaries(keys, json_values, max_size=4)
"""Event properties, nested like JSON."""
nested_properties = st.dictionaries(
    keys, st.lists(json_values, max_size=3) | st.dictionaries(keys, json_values, max_size=3),
    min_size=1, max_size=3,
)  # fmt: skip
"""Properties with at least one nested container, for the snapshot rules."""
traits = st.dictionaries(keys, scalars, max_size=3)
EVENT_NAMES = ("Signed Up", "Order Completed", "Ünïcødé ✓ 事件")
event_names = st.sampled_from(EVENT_NAMES) | st.text(min_size=1, max_size=8)

# -- bad input --------------------------------------------------------------------------------
not_str = st.one_of(
    st.integers(), st.floats(allow_nan=False), st.binary(min_size=1, max_size=4),
    st.lists(st.text(max_size=2), min_size=1, max_size=2), st.just(object),
)  # fmt: skip
"""Values of a type an id or an event name may never have (``None`` is left to each test)."""
not_mapping = st.one_of(
    st.integers(min_value=1), st.text(min_size=1, max_size=4),
    st.lists(st.tuples(st.text(min_size=1, max_size=2), st.integers()), min_size=1, max_size=2),
    st.dictionaries(st.integers(), st.integers(), min_size=1, max_size=2),
)  # fmt: skip
"""Truthy values that are not a mapping with str keys."""

# -- client programs ----------------------------------------------------------------------------
PROGRAM_PROPERTIES = (None, {}, {"plan": "pro"}, {"items": [1, 2], "n": 3})
PROGRAM_TRAITS = ({}, {"plan": "pro"}, {"plan": "free"}, {"age": 1}, {"plan": "pro", "age": 2})
_OPS: list[tuple[Any, ...]] = [
    *[("track", n, p) for p in PROGRAM_PROPERTIES for n in EVENT_NAMES] * 4,
    *[("identify", u, t) for t in PROGRAM_TRAITS for u in USER_IDS] * 2,
    *[("reset",), ("reopen",)] * 7,
]
_STEPS = [
    (device, op) for op in _OPS for device in ("phone", "laptop", "phone", "laptop", "tablet")
]
_STEPS[1:] = random.Random(0).sample(_STEPS[1:], len(_STEPS) - 1)  # rare kinds not all at the end
client_steps = st.sampled_from(_STEPS)
"""One ``(device, op)`` step; ``op`` is ``("track", name, props)``, ``("identify", user,
traits)``, ``("reset",)`` or ``("reopen",)`` (close the client and open a new one on the same
key). About half are tracks, so identity changes have events around them to check, and most
land on two of the three devices. Every field comes from a small pool: these programs test
identity, and recurring users and traits (identify A, reset, identify A) exercise it;
arbitrary values have tests of their own. One draw per step keeps generation cheap."""
client_programs = st.lists(client_steps, min_size=10, max_size=30)
"""Operations over several devices, as ``(device, op)`` pairs in call order."""
Program = Sequence[tuple[str, tuple[Any, ...]]]

# -- server calls ---------------------------------------------------------------------------------
server_ids = st.one_of(
    st.tuples(user_ids, st.none()), st.tuples(st.none(), anonymous_ids),
    st.tuples(user_ids, anonymous_ids),
)  # fmt: skip
"""``(user_id, anonymous_id)`` with at least one of them, as the seed requires."""
server_tracks = st.tuples(
    st.just("track"), event_names, st.sampled_from(PROGRAM_PROPERTIES), server_ids
)
server_identifies = st.tuples(st.just("identify"), traits, server_ids)
server_calls = st.lists(server_tracks | server_identifies, min_size=1, max_size=20)
"""Server calls: ``("track", name, props, (user, anon))`` or ``("identify", traits, (user, anon))``."""


# -- wire events ----------------------------------------------------------------------------------
links = st.sampled_from(Link)
_wire_users = st.sampled_from(("u1", "u2", "u3"))
_wire_keys = st.sampled_from(("anon-a", "anon-b", "dev-c"))
wire_events = st.builds(
    Event,
    kind=st.sampled_from(Kind),
    user_id=st.none() | _wire_users,
    anonymous_id=st.none() | _wire_keys,
    device_id=st.none() | _wire_keys,
    distinct_id=st.none() | _wire_keys | _wire_users,
    previous_id=st.none() | _wire_keys | _wire_users,
)
"""Identity-only events over small id pools, so keys and users collide and links form."""
event_records = st.builds(
    Event,
    kind=st.sampled_from(Kind),
    name=st.none() | event_names,
    user_id=st.none() | user_ids,
    anonymous_id=st.none() | anonymous_ids,
    device_id=st.none() | anonymous_ids,
    distinct_id=st.none() | user_ids | anonymous_ids,
    previous_id=st.none() | user_ids | anonymous_ids,
    group_id=st.none() | st.text(min_size=1, max_size=4),
    properties=properties,
    traits=traits,
    message_id=st.none() | st.text(min_size=1, max_size=10),
    timestamp=st.none() | st.integers(min_value=0, max_value=2**53),
    source=st.none() | devices,
)
"""Events with every field, as a collector might decode them."""


@attrs.frozen
class Call:
    """One replayed operation and what the client reported around it."""

    index: int
    device: str
    op: tuple[Any, ...]
    user_before: str | None
    anonymous_before: str
    anonymous_after: str
    events: range
    """Positions, in the flushed list, of the events this call put on the wire."""


@attrs.frozen
class Replay:
    """A program replayed against the reference SDK: its calls and the flushed wire."""

    profile: Profile
    calls: tuple[Call, ...]
    events: tuple[Event, ...]
    caller: tuple[int, ...]
    """For each event, the index of the call that produced it."""

    def device_of(self, position: int) -> str:
        """The device whose call produced the event at ``position``."""
        return self.calls[self.caller[position]].device


def drive(profile: Profile | str, program: Program, seed: int = 0) -> Replay:
    """Replay ``program`` on a fresh reference SDK, flushing once at the end."""
    sdk = ReferenceSDK(profile=profile, seed=seed)
    clients: dict[str, ReferenceClient] = {}
    calls = []
    for index, (device, op) in enumerate(program):
        client = clients.get(device) or clients.setdefault(device, sdk.open_client(device))
        start = len(sdk.outbox.pending)
        user_before, anonymous_before = client.user_id, client.anonymous_id
        if op[0] == "track":  # copies: the pooled payloads are shared between examples
            client.track(op[1], copy.deepcopy(op[2]))
        elif op[0] == "identify":
            client.identify(op[1], copy.deepcopy(op[2]))
        elif op[0] == "reset":
            client.reset()
        elif op[0] == "reopen":
            client.close()
            client = clients[device] = sdk.open_client(device)
        else:  # pragma: no cover  (a typo in a test)
            msg = f"unknown operation {op!r} of type {type(op).__name__}"
            raise ValueError(msg)
        calls.append(Call(index, device, op, user_before, anonymous_before,
                          client.anonymous_id, range(start, len(sdk.outbox.pending))))  # fmt: skip
    events = tuple(sdk.flush())
    caller = tuple(call.index for call in calls for _ in call.events)
    return Replay(sdk.profile, tuple(calls), events, caller)


def drive_everywhere(program: Program, seed: int = 0) -> Iterator[Replay]:
    """Replay ``program`` under every profile in ``PROFILES``, noting which one for a failure.

    One generated program checked under all profiles costs a seventh of generating one
    per profile, which keeps the property tests fast at the ``nightly`` budget too.
    """
    for name in sorted(PROFILES):
        note(f"under profile {name!r}")
        yield drive(PROFILES[name], program, seed)


def anonymous_value(event: Event, profile: Profile) -> str | None:
    """The anonymous id an event shows on the wire, in the profile's id model.

    Dual ids show ``anonymous_id``; device-and-user SDKs their ``device_id``; switching
    SDKs show the anonymous id only as the ``distinct_id`` of an anonymous event.
    """
    if profile.id_model is IdModel.DUAL:
        return event.anonymous_id
    if profile.id_model is IdModel.DEVICE_USER:
        return event.device_id
    return event.distinct_id if event.user_id is None else None


def mutate(value: Any) -> None:
    """Change every container reachable from ``value`` in place, as a caller reusing it would."""
    if isinstance(value, dict):
        for item in value.values():
            mutate(item)
        value["mutated"] = True
    elif isinstance(value, list):
        for item in value:
            mutate(item)
        value.append("mutated")
