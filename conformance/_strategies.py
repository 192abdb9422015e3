"""Generated inputs: event names, properties, traits and ids that real callers pass."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

DEVICES = ("device-0", "device-1", "device-2")
USERS = ("u1", "u2", "u3", "ünï-4 ✓")
ANONYMOUS_IDS = ("anon-a", "anon-b", "ånon-c")
MARKER = "#"
"""Separates a generated event name from the step number the suite appends to it."""
TRAIT_MARKER = "ic_seq"
"""Trait the suite sets on every identify so the arriving event can be matched to its call."""

# Keys that SDKs document as their own (SEMANTICS.md 5.4, 5.5); a caller never uses them.
RESERVED_KEYS = frozenset(
    {TRAIT_MARKER, "token", "time", "distinct_id", "mp_lib", "alias", "category", "label", "value"}
)

# Plain text strategies: from_regex costs several times more per draw, and keys need no regex.
_KEY_POOL = ("plan", "price", "items", "seats", "ref", "a", "b", "x1")
keys = st.sampled_from(_KEY_POOL) | st.text(
    alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=6
).filter(lambda k: k not in RESERVED_KEYS)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
    st.text(max_size=8),
)
json_values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(keys, inner, max_size=3),
    max_leaves=6,
)
properties = st.dictionaries(keys, json_values, max_size=3)
traits = st.dictionaries(keys, scalars, min_size=1, max_size=2)  # real identify calls carry traits
event_names = st.sampled_from(["Signed Up", "Order Completed", "Ünïcødé ✓ 事件", "page viewed"]) | (
    st.text(
        alphabet=st.characters(exclude_characters=MARKER, exclude_categories=("Cs", "Cc", "Z")),
        min_size=1,
        max_size=6,
    )
)
devices = st.sampled_from(DEVICES)
users = st.sampled_from(USERS)
anonymous_ids = st.sampled_from(ANONYMOUS_IDS)
