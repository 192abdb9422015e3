"""Tests for simulator._outbox."""

from __future__ import annotations

import copy
from typing import Any

import pytest
import strategies as gen
from hypothesis import given
from hypothesis import strategies as st

from simulator import DeliveryError, Event, Kind, Outbox, ReferenceSDK, ReferenceServer, snapshot


class FlakyCollector:
    """Refuses the first ``failures`` deliveries, recording every attempt."""

    def __init__(self, failures: int) -> None:
        """Refuse the first ``failures`` deliveries."""
        self.failures = failures
        self.attempts: list[list[Event]] = []

    def __call__(self, events: list[Event]) -> None:
        """Record the attempt; raise DeliveryError while refusals are left."""
        self.attempts.append(list(events))
        if len(self.attempts) <= self.failures:
            msg = f"refused attempt {len(self.attempts)}"
            raise DeliveryError(msg)


def test_snapshot_of_nothing_is_an_empty_read_only_mapping() -> None:
    """snapshot(None) and snapshot({}) are empty mappings that cannot be written to."""
    for value in (None, {}):
        empty = snapshot(value)
        assert dict(empty) == {}
        with pytest.raises(TypeError):
            empty["x"] = 1  # type: ignore[index]


def test_snapshot_of_a_flat_dict_is_an_equal_copy() -> None:
    """A flat dict's snapshot is equal to it but a different object."""
    mine = {"plan": "pro", "seats": 3}
    copied = snapshot(mine)
    mine["plan"] = "free"
    assert copied == {"plan": "pro", "seats": 3}


@given(value=gen.nested_properties)
def test_snapshot_is_unaffected_by_later_changes_to_nested_values(value: dict[str, Any]) -> None:
    """No change to the caller's dict or anything nested in it reaches a snapshot taken before."""
    mine = copy.deepcopy(value)
    copied = snapshot(mine)
    assert copied == value
    gen.mutate(mine)
    assert copied == value


def test_materialize_numbers_events_in_call_order_and_empties_the_queue_in_place() -> None:
    """Materializing turns pending calls into events with sequential message ids and clears the same list."""
    sdk = ReferenceSDK()
    client = sdk.open_client("phone")
    pending = sdk.outbox.pending
    client.track("a")
    client.track("b")
    events = sdk.outbox.materialize()
    assert [(e.name, e.message_id, e.timestamp) for e in events] == [
        ("a", "msg-000000", 0), ("b", "msg-000001", 1)]  # fmt: skip
    assert sdk.outbox.pending is pending
    assert pending == []


def test_calls_after_a_flush_go_into_the_next_flush() -> None:
    """A client keeps queueing into the outbox after a flush; message ids keep counting."""
    sdk = ReferenceSDK()
    client = sdk.open_client("phone")
    client.track("a")
    assert [e.name for e in sdk.flush()] == ["a"]
    client.track("b")
    [event] = sdk.flush()
    assert (event.name, event.message_id) == ("b", "msg-000001")


def test_flush_of_nothing_delivers_nothing() -> None:
    """Flushing an empty outbox returns no events and does not call deliver."""
    collector = FlakyCollector(0)
    assert Outbox(deliver=collector).flush() == []
    assert collector.attempts == []


@given(failures=st.integers(0, 5), calls=st.integers(1, 4))
def test_retries_resend_the_same_events(failures: int, calls: int) -> None:
    """A refused delivery is retried up to max_retries times with the same events and message ids."""
    collector = FlakyCollector(failures)
    sdk = ReferenceSDK(deliver=collector)
    client = sdk.open_client("phone")
    for i in range(calls):
        client.track(f"e{i}")
    retries = sdk.outbox.max_retries
    if failures > retries:
        with pytest.raises(DeliveryError):
            sdk.flush()
    else:
        assert sdk.flush() == collector.attempts[-1]
    assert len(collector.attempts) == min(failures, retries) + 1
    assert all(attempt == collector.attempts[0] for attempt in collector.attempts)
    assert len({e.message_id for e in collector.attempts[0]}) == calls


def test_outbox_events_are_canonical_records() -> None:
    """Every materialized entry is an Event with the fields of the call."""
    outbox = Outbox()
    ReferenceServer(outbox).track("Paid", {"amount": 3}, user_id="u1")
    [event] = outbox.flush()
    assert event == Event(Kind.TRACK, name="Paid", user_id="u1", properties={"amount": 3},
                          message_id="msg-000000", timestamp=0)  # fmt: skip
