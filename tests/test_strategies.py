"""Tests for conformance.machines.strategies: the payload pools and one-draw rule arguments."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from conformance.machines import strategies as gen

CALLS = gen.Calls({"device": gen.DEVICE_POOL, "name": gen.NAME_POOL,
                   "properties": gen.PROPERTY_POOL})  # fmt: skip
SIZE = len(gen.DEVICE_POOL) * len(gen.NAME_POOL) * len(gen.PROPERTY_POOL)


def test_pools_are_the_same_on_every_import() -> None:
    """Pools come from a fixed seed: the same texts, simplest first, on every machine."""
    again = gen._pool(gen._properties, 512, 1)
    assert again == gen.PROPERTY_POOL
    assert gen.PROPERTY_POOL[0] == "{}"
    assert [len(t) for t in gen.PROPERTY_POOL] == sorted(len(t) for t in gen.PROPERTY_POOL)


def test_pools_hold_what_callers_send() -> None:
    """Properties include nesting, unicode, None, big ints and floats; traits are never empty."""
    values = [json.loads(t) for t in gen.PROPERTY_POOL]
    flat = json.dumps(values, ensure_ascii=False)
    assert any(isinstance(v, dict) for p in values for v in p.values())
    assert any(isinstance(v, list) for p in values for v in p.values())
    assert any(ord(c) > 0xFFFF for c in flat)
    assert "null" in flat
    assert any(v == 2**53 for p in values for v in p.values())
    assert all(json.loads(t) for t in gen.TRAIT_POOL)
    assert not any(k in gen.RESERVED_KEYS for p in values for k in p)
    assert not any(gen.MARKER in json.loads(n) for n in gen.NAME_POOL)


def test_index_zero_is_the_simplest_call() -> None:
    """Index 0 decodes to the first value of every pool, so shrinking heads there."""
    assert CALLS.decode(0) == {"device": "device-0", "name": "Signed Up", "properties": {}}


@given(st.integers(0, SIZE - 1))
def test_every_index_decodes_to_one_value_per_field(index: int) -> None:
    """Each index names one value of each pool; the first field is the least significant digit."""
    args = CALLS.decode(index)
    assert args["device"] == gen.DEVICES[index % len(gen.DEVICE_POOL)]
    assert json.dumps(args["properties"], ensure_ascii=False) in gen.PROPERTY_POOL


def test_decoded_containers_are_fresh_objects() -> None:
    """Mutating a decoded dict changes neither the pool nor the next decoding of the same index."""
    index = len(gen.DEVICE_POOL) * len(gen.NAME_POOL) * (len(gen.PROPERTY_POOL) - 1)
    first = CALLS.decode(index)["properties"]
    first.clear()
    assert CALLS.decode(index)["properties"] != {}
    assert CALLS.indexes.validate() is None


def test_call_options_are_what_applications_pass() -> None:
    """Timestamps are aware ISO times, message ids come in three forms, contexts are dicts or the shared one."""
    from datetime import datetime
    from uuid import UUID

    times = [json.loads(t) for t in gen.TIMESTAMP_POOL if json.loads(t) is not None]
    assert times
    assert all(datetime.fromisoformat(t).utcoffset() is not None for t in times)
    assert UUID(gen.message_id("uuid", 100001)).version == 4
    assert gen.message_id("app", 100001) == "order-100001-created"
    assert len(gen.message_id("hex", 100001)) == 32
    contexts = [json.loads(c) for c in gen.CONTEXT_POOL]
    assert None in contexts
    assert gen.SHARED_CONTEXT in contexts
    assert all(isinstance(c, dict) for c in contexts if c not in (None, gen.SHARED_CONTEXT))
