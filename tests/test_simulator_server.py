"""Tests for simulator._server.

The seed's server rules: a server SDK keeps no identity, every call names its own ids
(at least one of user id and anonymous id), and identify changes nothing for later calls.
"""

from __future__ import annotations

import copy
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
import strategies as gen
from hypothesis import given
from hypothesis import strategies as st

from simulator import (
    PROFILES,
    Event,
    InvalidArgumentError,
    InvalidValueError,
    Kind,
    MissingIdentityError,
    Person,
    ReferenceSDK,
    ReferenceServer,
    epoch_ms,
    resolve,
)
from simulator._outbox import Outbox

Calls = list[tuple[Any, ...]]


def assert_names(error: BaseException, value: object) -> None:
    """Assert that an error message shows the bad value's repr and its type name."""
    message = str(error)
    assert repr(value) in message, message
    assert type(value).__name__ in message, message


def send(calls: Calls) -> list[Event]:
    """Make ``calls`` on a fresh reference server and return the flushed events."""
    sdk = ReferenceSDK()
    for call in calls:
        user, anonymous = call[-1]
        payload = copy.deepcopy(call[-2])  # the pooled payloads are shared between examples
        if call[0] == "track":
            sdk.server.track(call[1], payload, user_id=user, anonymous_id=anonymous)
        else:
            sdk.server.identify(user, payload, anonymous_id=anonymous)
    return sdk.flush()


def ids(event: Event) -> tuple[str | None, ...]:
    """Every id field of an event."""
    return (event.user_id, event.anonymous_id, event.device_id, event.distinct_id,
            event.previous_id, event.group_id)  # fmt: skip


# -- unit tests --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("user", "anonymous"), [("u1", None), (None, "anon-a"), ("u1", "anon-a")],
    ids=["user-only", "anonymous-only", "both"],
)  # fmt: skip
def test_track_carries_exactly_the_ids_given(user: str | None, anonymous: str | None) -> None:
    """A server track carries exactly the user id and anonymous id of its call."""
    sdk = ReferenceSDK()
    sdk.server.track("Paid", {"amount": 3}, user_id=user, anonymous_id=anonymous)
    [event] = sdk.flush()
    assert event == Event(kind=Kind.TRACK, name="Paid", user_id=user, anonymous_id=anonymous,
                          properties={"amount": 3}, message_id="msg-000000", timestamp=0)  # fmt: skip
    assert event.source == "server"


def test_a_track_carries_the_timestamp_message_id_and_context_its_call_gave() -> None:
    """The call's own time (to the millisecond), message id and context arrive as given."""
    sdk = ReferenceSDK()
    context = {"ip": "203.0.113.7", "page": {"path": "/"}}
    moment = datetime(2026, 3, 29, 1, 30, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    sdk.server.track("Paid", {}, user_id="u1", timestamp=moment, message_id="order-1", context=context)
    context["page"]["path"] = "/later"  # the caller moves on; the event keeps what it was given
    [event] = sdk.flush()
    assert (event.timestamp, event.message_id, event.context) == (
        epoch_ms(moment), "order-1", {"ip": "203.0.113.7", "page": {"path": "/"}})
    assert epoch_ms(moment) == 1774740600123


def test_an_identify_carries_the_context_its_call_gave_as_given() -> None:
    """identify(..., context=...) keeps a copy of the caller's context, as track does."""
    sdk = ReferenceSDK()
    context = {"ip": "203.0.113.7", "page": {"path": "/"}}
    sdk.server.identify("u1", {"plan": "pro"}, context=context, message_id="id-1")
    context["page"]["path"] = "/later"
    [event] = sdk.flush()
    assert (event.kind, event.message_id, event.context) == (
        Kind.IDENTIFY, "id-1", {"ip": "203.0.113.7", "page": {"path": "/"}})


def test_a_track_without_options_gets_the_outbox_time_and_id_and_no_context() -> None:
    """Left out, the timestamp and message id are assigned at flush, and the context is empty."""
    sdk = ReferenceSDK()
    sdk.server.track("Paid", {}, user_id="u1", message_id="given")
    sdk.server.track("Paid", {}, user_id="u1")
    first, second = sdk.flush()
    assert (first.message_id, first.context) == ("given", {})
    assert second.message_id != "given"
    assert second.context == {}


@pytest.mark.parametrize("bad", [datetime(2026, 1, 1), "2026-01-01T00:00:00Z", 1767225600])  # noqa: DTZ001
def test_a_timestamp_that_names_no_instant_is_refused(bad: object) -> None:
    """A naive datetime, a string or a number is refused, naming the value and its type."""
    with pytest.raises(InvalidArgumentError, match="timezone-aware datetime") as caught:
        ReferenceServer(Outbox()).track("Paid", {}, user_id="u1", timestamp=bad)  # type: ignore[arg-type]
    assert_names(caught.value, bad)


def test_identify_changes_nothing_for_later_calls() -> None:
    """After a server identify('u1'), a track naming only an anonymous id carries no user."""
    sdk = ReferenceSDK()
    sdk.server.identify("u1", {"plan": "pro"}, anonymous_id="anon-a")
    sdk.server.track("Paid", anonymous_id="anon-b")
    identify, track = sdk.flush()
    assert (identify.kind, identify.user_id, dict(identify.traits)) == (Kind.IDENTIFY, "u1",
                                                                         {"plan": "pro"})  # fmt: skip
    assert ids(track) == (None, "anon-b", None, None, None, None)
    assert dict(track.traits) == {}


def test_a_call_with_both_ids_links_the_anonymous_history() -> None:
    """An anonymous-only server event resolves to u1 once a call names both u1 and its anonymous id."""
    sdk = ReferenceSDK()
    sdk.server.track("Browsed", anonymous_id="anon-a")
    sdk.server.identify("u1", anonymous_id="anon-a")
    sdk.server.track("Browsed", anonymous_id="anon-b")
    people = resolve(sdk.flush(), PROFILES["seed"].link)
    assert people == [Person("u1"), Person("u1"), Person(None, "anon-b")]


def test_alias_names_both_ids() -> None:
    """A server alias carries the user id and the previous id, and nothing else."""
    sdk = ReferenceSDK()
    sdk.server.alias("anon-a", "u1")
    [event] = sdk.flush()
    assert (event.kind, *ids(event)) == (Kind.ALIAS, "u1", None, None, None, "anon-a", None)


def test_repr_is_constant() -> None:
    """A server's repr shows no state, because it keeps none."""
    assert repr(ReferenceServer(Outbox())) == "ReferenceServer()"


# -- bad input ------------------------------------------------------------------------------------
@pytest.mark.parametrize("operation", ["track", "identify"])
def test_a_call_with_neither_id_is_refused_and_sends_nothing(operation: str) -> None:
    """A server call without user id and anonymous id raises MissingIdentityError naming both values."""
    sdk = ReferenceSDK()
    calls = {"track": lambda: sdk.server.track("Paid", {"amount": 3}),
             "identify": lambda: sdk.server.identify(None, {"plan": "pro"})}  # fmt: skip
    with pytest.raises(MissingIdentityError) as info:
        calls[operation]()
    assert isinstance(info.value, (InvalidValueError, ValueError))
    message = str(info.value)
    assert "user_id=None of type NoneType" in message
    assert "anonymous_id=None of type NoneType" in message
    assert sdk.outbox.pending == []


@given(name=gen.event_names, properties=gen.properties)
def test_track_with_neither_id_never_queues_anything(name: str, properties: dict[str, Any]) -> None:
    """Whatever the event and properties, a track with neither id is refused and nothing is queued."""
    sdk = ReferenceSDK()
    with pytest.raises(MissingIdentityError):
        sdk.server.track(name, properties, user_id=None, anonymous_id=None)
    assert sdk.outbox.pending == []


@pytest.mark.parametrize("field", ["user_id", "anonymous_id"])
@given(bad=gen.not_str)
def test_an_id_of_the_wrong_type_is_refused(field: str, bad: object) -> None:
    """A server id that is not a str raises InvalidArgumentError (a TypeError) naming it, and sends nothing."""
    sdk = ReferenceSDK()
    with pytest.raises(InvalidArgumentError) as info:
        sdk.server.track("Paid", **{field: bad})
    assert isinstance(info.value, TypeError)
    assert_names(info.value, bad)
    assert sdk.outbox.pending == []


@pytest.mark.parametrize("field", ["user_id", "anonymous_id"])
def test_an_empty_id_is_refused(field: str) -> None:
    """An empty server id raises InvalidValueError (a ValueError) naming it, even with the other id set."""
    other = "anonymous_id" if field == "user_id" else "user_id"
    sdk = ReferenceSDK()
    with pytest.raises(InvalidValueError) as info:
        sdk.server.identify(**{field: "", other: "x1"})  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)
    assert_names(info.value, "")
    assert sdk.outbox.pending == []


@given(name=gen.not_str | st.none())
def test_an_event_name_of_the_wrong_type_is_refused(name: object) -> None:
    """A server track whose event name is not a str raises InvalidArgumentError naming it."""
    sdk = ReferenceSDK()
    with pytest.raises(InvalidArgumentError) as info:
        sdk.server.track(name, user_id="u1")  # type: ignore[arg-type]
    assert isinstance(info.value, TypeError)
    assert_names(info.value, name)
    assert sdk.outbox.pending == []


def test_an_empty_event_name_is_refused() -> None:
    """A server track named '' raises InvalidValueError (a ValueError) naming it."""
    sdk = ReferenceSDK()
    with pytest.raises(InvalidValueError) as info:
        sdk.server.track("", user_id="u1")
    assert isinstance(info.value, ValueError)
    assert_names(info.value, "")


@pytest.mark.parametrize("operation", ["track", "identify"])
@given(payload=gen.not_mapping)
def test_a_payload_that_is_not_a_str_keyed_mapping_is_refused(operation: str,
                                                               payload: object) -> None:  # fmt: skip
    """Server properties or traits that are not a str-keyed mapping raise InvalidArgumentError naming them."""
    sdk = ReferenceSDK()
    calls = {"track": lambda: sdk.server.track("Paid", payload, user_id="u1"),  # type: ignore[arg-type]
             "identify": lambda: sdk.server.identify("u1", payload)}  # type: ignore[arg-type]  # fmt: skip
    with pytest.raises(InvalidArgumentError) as info:
        calls[operation]()
    assert isinstance(info.value, TypeError)
    assert_names(info.value, payload)
    assert sdk.outbox.pending == []


@pytest.mark.parametrize(("previous", "user"), [(None, "u1"), ("anon-a", ""), ("anon-a", 5)],
                         ids=["no-previous", "empty-user", "int-user"])  # fmt: skip
def test_alias_needs_both_ids(previous: object, user: object) -> None:
    """A server alias without both ids as non-empty str raises naming the bad one."""
    sdk = ReferenceSDK()
    with pytest.raises((InvalidArgumentError, InvalidValueError)) as info:
        sdk.server.alias(previous, user)  # type: ignore[arg-type]
    bad = previous if previous is None else user
    assert isinstance(info.value, ValueError if bad == "" else TypeError)
    assert_names(info.value, bad)
    assert sdk.outbox.pending == []


# -- properties ------------------------------------------------------------------------------------
@given(calls=gen.server_calls)
def test_each_event_carries_exactly_the_ids_and_payload_of_its_call(calls: Calls) -> None:
    """Every server call sends one event with exactly its own ids, properties and traits, in call order."""
    events = send(calls)
    assert len(events) == len(calls)
    for call, event in zip(calls, events, strict=True):
        user, anonymous = call[-1]
        assert ids(event) == (user, anonymous, None, None, None, None)
        if call[0] == "track":
            assert (event.kind, event.name) == (Kind.TRACK, call[1])
            assert (dict(event.properties), dict(event.traits)) == (call[2] or {}, {})
        else:
            assert event.kind is Kind.IDENTIFY
            assert (dict(event.properties), dict(event.traits)) == ({}, call[1])


@given(calls=gen.server_calls)
def test_identify_calls_change_nothing_for_later_calls(calls: Calls) -> None:
    """The tracks sent are the same whether or not the identify calls between them were made."""
    with_identifies = [e for e in send(calls) if e.kind is Kind.TRACK]
    without = send([c for c in calls if c[0] == "track"])
    assert [e.to_json() | {"message_id": None, "timestamp": None} for e in with_identifies] == [
        e.to_json() | {"message_id": None, "timestamp": None} for e in without
    ]


@given(properties=gen.nested_properties, traits=gen.nested_properties)
def test_payloads_are_unaffected_by_later_changes_to_the_callers_dicts(
    properties: dict[str, Any], traits: dict[str, Any]
) -> None:
    """Server events keep properties and traits as at the call, and the caller's dicts are not changed."""
    sdk = ReferenceSDK()
    mine_properties, mine_traits = copy.deepcopy(properties), copy.deepcopy(traits)
    sdk.server.track("Paid", mine_properties, user_id="u1")
    sdk.server.identify("u1", mine_traits)
    assert (mine_properties, mine_traits) == (properties, traits)
    gen.mutate(mine_properties)
    gen.mutate(mine_traits)
    track, identify = sdk.flush()
    assert (dict(track.properties), dict(identify.traits)) == (properties, traits)
