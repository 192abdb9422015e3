"""Tests for simulator.testing."""

from __future__ import annotations

import attrs
import pytest

from simulator import InvalidArgumentError, InvalidValueError, Kind, ReferenceSDK, StoredIdentity
from simulator import testing as t


def _sdk(profile: str = "seed") -> ReferenceSDK:
    return ReferenceSDK(profile=profile, seed=7)


def test_stored_identity_is_the_live_record_in_storage() -> None:
    """stored_identity() returns the very StoredIdentity the SDK keeps under the client's key."""
    sdk = _sdk()
    phone = sdk.open_client("phone")
    phone.identify("u1", {"plan": "pro"})
    stored = t.stored_identity(phone)
    assert isinstance(stored, StoredIdentity)
    assert stored is sdk.storage["phone"]
    assert (stored.user_id, stored.anonymous_id, dict(stored.traits)) == (
        "u1", phone.anonymous_id, {"plan": "pro"},
    )  # fmt: skip


def test_wire_ids_name_what_the_next_call_carries() -> None:
    """wire_ids() is a named record equal to the ids on the next event the client sends."""
    sdk = _sdk()
    phone = sdk.open_client("phone")
    phone.identify("u1")
    ids = t.wire_ids(phone)
    phone.track("Clicked")
    event = sdk.flush()[-1]
    assert ids == t.WireIds(user_id="u1", anonymous_id=phone.anonymous_id, source="phone")
    assert (event.user_id, event.anonymous_id, event.device_id, event.distinct_id, event.source) == (
        ids.user_id, ids.anonymous_id, ids.device_id, ids.distinct_id, ids.source,
    )  # fmt: skip


def test_wire_ids_follow_the_profiles_id_model() -> None:
    """Under a switching profile the wire ids carry a device id and a distinct id, no anonymous id."""
    sdk = _sdk("posthog")
    phone = sdk.open_client("phone")
    ids = t.wire_ids(phone)
    assert ids.anonymous_id is None
    assert ids.distinct_id == phone.anonymous_id
    assert ids.device_id is not None


def test_set_wire_ids_changes_later_calls_but_not_storage() -> None:
    """set_wire_ids() stamps the given ids on later calls while storage and queued calls keep theirs."""
    sdk = _sdk()
    phone = sdk.open_client("phone")
    phone.track("Before")
    t.set_wire_ids(phone, attrs.evolve(t.wire_ids(phone), user_id="ghost", anonymous_id=None))
    phone.track("After")
    before, after = sdk.flush()
    assert (before.user_id, before.anonymous_id) == (None, phone.anonymous_id)
    assert (after.user_id, after.anonymous_id) == ("ghost", None)
    assert (phone.user_id, t.stored_identity(phone).user_id) == (None, None)


def test_set_wire_user_changes_only_the_stamped_user() -> None:
    """set_wire_user() changes the user id on later calls and keeps the other wire ids."""
    phone = _sdk().open_client("phone")
    before = t.wire_ids(phone)
    t.set_wire_user(phone, "u9")
    assert t.wire_ids(phone) == attrs.evolve(before, user_id="u9")
    assert phone.user_id is None


def test_an_identity_change_or_refresh_derives_the_wire_ids_from_storage_again() -> None:
    """refresh_wire_ids(), like identify or reset, undoes set_wire_ids() by reading storage."""
    phone = _sdk().open_client("phone")
    t.set_wire_user(phone, "ghost")
    t.refresh_wire_ids(phone)
    assert t.wire_ids(phone).user_id is None
    t.set_wire_user(phone, "ghost")
    phone.identify("u1")
    assert t.wire_ids(phone).user_id == "u1"


def test_replace_anonymous_id_stores_and_stamps_it_and_sends_nothing() -> None:
    """replace_anonymous_id() changes storage and later calls, keeps the user and queues nothing."""
    sdk = _sdk()
    phone = sdk.open_client("phone")
    phone.identify("u1")
    sdk.flush()
    t.replace_anonymous_id(phone, "anon-new")
    assert sdk.outbox.pending == []
    assert (phone.anonymous_id, phone.user_id) == ("anon-new", "u1")
    assert sdk.open_client("phone").anonymous_id == "anon-new"  # a relaunch resumes it
    phone.track("Clicked")
    assert sdk.flush()[0].anonymous_id == "anon-new"


def test_set_stored_user_changes_the_user_alone() -> None:
    """set_stored_user() stores and stamps the user, keeps traits and the anonymous id, sends nothing."""
    sdk = _sdk()
    phone = sdk.open_client("phone")
    phone.identify("u1", {"plan": "pro"})
    anonymous_id = phone.anonymous_id
    sdk.flush()
    t.set_stored_user(phone, None)
    assert (phone.user_id, phone.anonymous_id, dict(phone.traits)) == (None, anonymous_id, {"plan": "pro"})
    assert sdk.outbox.pending == []
    phone.track("Clicked")
    assert sdk.flush()[0].user_id is None


def test_queued_calls_is_a_snapshot_of_the_outbox_in_call_order() -> None:
    """queued_calls() lists pending calls as records, in call order, without emptying the outbox."""
    sdk = _sdk()
    phone = sdk.open_client("phone")
    phone.track("First", {"n": 1})
    phone.identify("u1", {"plan": "pro"})
    calls = t.queued_calls(sdk.outbox)
    assert [(c.kind, c.name) for c in calls] == [(Kind.TRACK, "First"), (Kind.IDENTIFY, None)]
    assert (dict(calls[0].properties), dict(calls[1].traits)) == ({"n": 1}, {"plan": "pro"})
    assert calls[1].ids.user_id == "u1"
    assert len(sdk.outbox.pending) == 2


def test_replace_queued_call_changes_what_flush_sends() -> None:
    """replace_queued_call() puts an edited call in its place, and flush sends the edit."""
    sdk = _sdk()
    phone = sdk.open_client("phone")
    phone.track("First")
    phone.track("Second")
    first = t.queued_calls(sdk.outbox)[0]
    t.replace_queued_call(sdk.outbox, 0, attrs.evolve(first, name="Renamed"))
    t.replace_queued_call(sdk.outbox, -1, attrs.evolve(first, previous_id="p"))
    assert [(e.name, e.previous_id) for e in sdk.flush()] == [("Renamed", None), ("First", "p")]


def test_a_replaced_call_keeps_the_mapping_it_was_given_not_a_copy() -> None:
    """Properties put back by replace_queued_call() are not copied: later changes reach the wire."""
    sdk = _sdk()
    phone = sdk.open_client("phone")
    mine = {"n": 1}
    phone.track("First", mine)
    t.replace_queued_call(sdk.outbox, 0, attrs.evolve(t.queued_calls(sdk.outbox)[0], properties=mine))
    mine["n"] = 2
    assert dict(sdk.flush()[0].properties) == {"n": 2}


def test_take_queued_calls_empties_the_queue_and_returns_its_calls_in_order() -> None:
    """take_queued_calls() hands back every waiting call, in call order, and leaves nothing to flush."""
    sdk = _sdk()
    sdk.server.track("A", {"n": 1}, user_id="u1")
    sdk.server.track("B", {}, anonymous_id="a2")
    taken = t.take_queued_calls(sdk.outbox)
    assert [(c.name, c.ids.user_id, c.ids.anonymous_id) for c in taken] == [("A", "u1", None), ("B", None, "a2")]
    assert taken == t.queued_calls(_queue_again(taken))
    assert sdk.flush() == []
    with pytest.raises(InvalidArgumentError, match="outbox must be a simulator.Outbox"):
        t.take_queued_calls([])  # type: ignore[arg-type]


def _queue_again(calls: list[t.QueuedCall]) -> object:
    outbox = _sdk().outbox
    for call in calls:
        t.queue_call(outbox, call)
    return outbox


def test_queue_call_appends_without_any_check() -> None:
    """queue_call() queues a call the SDK itself would refuse (no ids at all), and flush sends it."""
    sdk = _sdk()
    t.queue_call(sdk.outbox, t.QueuedCall(Kind.TRACK, "Orphan", t.WireIds(source="server")))
    (event,) = sdk.flush()
    assert (event.kind, event.name, event.user_id, event.anonymous_id, event.source) == (
        Kind.TRACK, "Orphan", None, None, "server",
    )  # fmt: skip
    assert event.message_id is not None


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda sdk, c: t.wire_ids(sdk), InvalidArgumentError),
        (lambda sdk, c: t.set_wire_ids(c, ("u1", None, None, None, "phone")), InvalidArgumentError),
        (lambda sdk, c: t.set_wire_user(c, 42), InvalidArgumentError),
        (lambda sdk, c: t.replace_anonymous_id(c, ""), InvalidValueError),
        (lambda sdk, c: t.set_stored_user(c, ""), InvalidValueError),
        (lambda sdk, c: t.queued_calls(c), InvalidArgumentError),
        (lambda sdk, c: t.queue_call(sdk.outbox, (Kind.TRACK,)), InvalidArgumentError),
        (lambda sdk, c: t.replace_queued_call(sdk.outbox, 0, t.QueuedCall(Kind.TRACK)), InvalidArgumentError),
    ],
    ids=["client", "ids", "user", "anonymous-id", "stored-user", "outbox", "call", "index"],
)
def test_bad_arguments_are_refused_naming_the_value(call: object, error: type[Exception]) -> None:
    """A wrong type or value is refused at the call, with a message that shows what was passed."""
    sdk = _sdk()
    phone = sdk.open_client("phone")
    with pytest.raises(error, match=r"got .* of type"):
        call(sdk, phone)  # type: ignore[operator]


def test_the_module_lists_its_public_names() -> None:
    """simulator.testing's __all__ is sorted and names only what the module defines."""
    assert list(t.__all__) == sorted(t.__all__)
    assert all(hasattr(t, name) for name in t.__all__)
