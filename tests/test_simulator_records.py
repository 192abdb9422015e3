"""Tests for simulator._records."""

from __future__ import annotations

import json

import attrs
import pytest
import strategies as gen
from hypothesis import given

from simulator import Event, Kind


def test_kind_repr_reads_as_python() -> None:
    """A Kind's repr is its qualified member name, and a Kind is its str value."""
    assert repr(Kind.TRACK) == "Kind.TRACK"
    assert Kind.TRACK == "track"
    assert Kind("merge") is Kind.MERGE


@pytest.mark.parametrize(
    ("fields", "expected"),
    [({"anonymous_id": "a", "device_id": "d", "distinct_id": "x"}, "a"),
     ({"device_id": "d", "distinct_id": "x"}, "d"),
     ({"distinct_id": "x", "user_id": "u1"}, "x"),
     ({"distinct_id": "u1", "user_id": "u1"}, None),
     ({"user_id": "u1"}, None)],
    ids=["anonymous-id", "device-id", "anonymous-distinct-id", "identified-distinct-id", "none"],
)  # fmt: skip
def test_anonymous_key_prefers_anonymous_then_device_then_distinct_id(
    fields: dict[str, str], expected: str | None
) -> None:
    """Event.anonymous_key is the anonymous id, else the device id, else a distinct id that is not the user id."""
    assert Event(Kind.TRACK, **fields).anonymous_key == expected


def test_to_json_leaves_out_unset_fields() -> None:
    """to_json has the kind's value and only the fields that are set, mappings as dicts."""
    event = Event(Kind.IDENTIFY, user_id="u1", traits={"plan": "pro"}, source="phone")
    assert event.to_json() == {"kind": "identify", "user_id": "u1", "traits": {"plan": "pro"},
                               "source": "phone"}  # fmt: skip
    assert Event(Kind.TRACK).to_json() == {"kind": "track"}


def test_repr_leaves_out_unset_fields() -> None:
    """The repr shows the kind and only the fields that are set."""
    event = Event(Kind.TRACK, name="Paid", properties={"amount": 3})
    assert repr(event) == "Event(kind=Kind.TRACK, name='Paid', properties={'amount': 3})"


def test_equality_ignores_the_source() -> None:
    """Two events that differ only in source (a debugging aid) are equal."""
    assert Event(Kind.TRACK, source="phone") == Event(Kind.TRACK, source="server")


def test_events_are_frozen() -> None:
    """An event cannot be changed in place."""
    with pytest.raises(attrs.exceptions.FrozenInstanceError):
        Event(Kind.TRACK).user_id = "u1"  # type: ignore[misc]


def test_from_json_refuses_an_unknown_kind() -> None:
    """from_json with a kind that is not a Kind value raises ValueError naming it."""
    with pytest.raises(ValueError, match="'bogus'"):
        Event.from_json({"kind": "bogus"})


@given(event=gen.event_records)
def test_json_round_trip_gives_an_equal_event(event: Event) -> None:
    """Event.from_json(json.loads(json.dumps(event.to_json()))) equals the event, source included."""
    back = Event.from_json(json.loads(json.dumps(event.to_json())))
    assert back == event
    assert back.source == event.source


@given(event=gen.event_records)
def test_repr_evaluates_back_to_an_equal_event(event: Event) -> None:
    """An event's repr is Python that evaluates, given Event and Kind, to an equal event."""
    back = eval(repr(event), {"Event": Event, "Kind": Kind})  # noqa: S307  (the point of the test)
    assert back == event
    assert back.source == event.source
