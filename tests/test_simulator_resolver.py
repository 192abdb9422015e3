"""Tests for simulator._resolver.

Downstream resolution is checked against a deliberately naive statement of the module's
rule (quadratic, no bisect), and against the seed's promises: an event naming a user
belongs to that user, anonymous history joins the user it was linked to, and two
identified users never merge, whatever the link and however the events were batched.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
import strategies as gen
from hypothesis import assume, given
from hypothesis import strategies as st

from simulator import Event, Kind, Link, Person, Resolver, anonymous_key, resolve

MERGING = (Kind.IDENTIFY, Kind.ALIAS, Kind.MERGE)


def naive_key(event: Event, link: Link) -> str | None:
    """The anonymous key of an event under ``link``, restated from SEMANTICS.md 1.3."""
    if link is Link.BOTH_IDS:
        return event.anonymous_id
    if link is Link.DEVICE_MAP:
        return event.device_id
    return event.distinct_id if event.distinct_id != event.user_id else None


def naive_joins(events: Sequence[Event], link: Link) -> list[tuple[int, str, str]]:
    """Every (position, anonymous key, user) join the wire states under ``link``."""
    identified = {e.user_id for e in events if e.user_id is not None}
    joins = []
    for position, event in enumerate(events):
        if event.user_id is None:
            continue
        if link is Link.MERGE_EVENT:
            previous = event.previous_id
            if event.kind in MERGING and previous is not None and previous not in identified:
                joins.append((position, previous, event.user_id))
        else:
            key = naive_key(event, link)
            if key is not None:
                joins.append((position, key, event.user_id))
    return joins


def naive_resolve(events: Sequence[Event], link: Link) -> list[Person]:
    """The person of each event: its user; else the user its key is joined to (see module doc)."""
    joins = naive_joins(events, link)
    people = []
    for position, event in enumerate(events):
        if event.user_id is not None:
            people.append(Person(event.user_id))
            continue
        key = naive_key(event, link)
        before = [u for p, k, u in joins if k == key and p < position]
        after = [u for p, k, u in joins if k == key and p >= position]
        if link is Link.DEVICE_MAP and before:
            people.append(Person(before[-1]))
        elif after:
            people.append(Person(after[0]))
        else:
            people.append(Person(None, key))
    return people


# -- unit tests --------------------------------------------------------------------------------------
def test_person_says_whether_it_is_identified() -> None:
    """Person('u1') is identified and reads as a user; Person(None, 'a') reads as anonymous."""
    assert Person("u1").identified
    assert not Person(None, "anon-a").identified
    assert (str(Person("u1")), str(Person(None, "anon-a"))) == ("user 'u1'", "anonymous 'anon-a'")


@pytest.mark.parametrize(
    ("link", "expected"),
    [(Link.BOTH_IDS, "anon-a"), (Link.DEVICE_MAP, "dev-c"), (Link.MERGE_EVENT, "anon-b")],
    ids=["both-ids", "device-map", "merge-event"],
)  # fmt: skip
def test_anonymous_key_follows_the_link(link: Link, expected: str) -> None:
    """The anonymous key is the anonymous id, the device id or the anonymous distinct id."""
    event = Event(Kind.TRACK, anonymous_id="anon-a", device_id="dev-c", distinct_id="anon-b")
    assert anonymous_key(event, link) == expected


def test_merge_event_key_is_none_for_an_identified_distinct_id() -> None:
    """Under merge_event, an event whose distinct id is its user id has no anonymous key."""
    assert (
        anonymous_key(Event(Kind.TRACK, user_id="u1", distinct_id="u1"), Link.MERGE_EVENT) is None
    )


def test_both_ids_joins_earlier_anonymous_events_to_the_user() -> None:
    """Under both_ids, anonymous events before an event with both ids resolve to its user; later ones stay anonymous."""
    events = [Event(Kind.TRACK, anonymous_id="a"), Event(Kind.IDENTIFY, user_id="u1", anonymous_id="a"),
              Event(Kind.TRACK, anonymous_id="a")]  # fmt: skip
    assert resolve(events, Link.BOTH_IDS) == [Person("u1"), Person("u1"), Person(None, "a")]


def test_merge_event_joins_the_previous_anonymous_id() -> None:
    """Under merge_event, an identify naming the anonymous distinct id as previous joins its events."""
    events = [Event(Kind.TRACK, distinct_id="a"),
              Event(Kind.IDENTIFY, user_id="u1", distinct_id="u1", previous_id="a")]  # fmt: skip
    assert resolve(events, Link.MERGE_EVENT) == [Person("u1"), Person("u1")]


def test_merge_event_naming_an_identified_user_is_refused() -> None:
    """Under merge_event, a merge from u1 to u2 joins nothing: no event keyed by u1 moves to u2."""
    events = [Event(Kind.TRACK, distinct_id="a"),
              Event(Kind.IDENTIFY, user_id="u1", distinct_id="u1", previous_id="a"),
              Event(Kind.TRACK, distinct_id="u1"),
              Event(Kind.IDENTIFY, user_id="u2", distinct_id="u2", previous_id="u1")]  # fmt: skip
    people = resolve(events, Link.MERGE_EVENT)
    assert [p.user_id for p in people] == ["u1", "u1", None, "u2"]


def test_device_map_uses_the_last_user_seen_on_the_device() -> None:
    """Under device_map, an anonymous device event goes to the last user before it, else the first after."""
    events = [Event(Kind.TRACK, device_id="d"), Event(Kind.TRACK, device_id="d", user_id="u1"),
              Event(Kind.TRACK, device_id="d"), Event(Kind.TRACK, device_id="d", user_id="u2")]  # fmt: skip
    assert [p.user_id for p in resolve(events, Link.DEVICE_MAP)] == ["u1", "u1", "u1", "u2"]


def test_an_event_without_any_id_resolves_to_nobody() -> None:
    """An event with no id at all resolves to an anonymous person with no key."""
    assert resolve([Event(Kind.TRACK)], Link.BOTH_IDS) == [Person(None, None)]


def test_resolver_accumulates_batches() -> None:
    """Resolver.resolve covers every event fed so far, in order."""
    resolver = Resolver(Link.BOTH_IDS)
    resolver.feed([Event(Kind.TRACK, anonymous_id="a")])
    assert resolver.resolve() == [Person(None, "a")]
    resolver.feed(iter([Event(Kind.IDENTIFY, user_id="u1", anonymous_id="a")]))
    assert resolver.resolve() == [Person("u1"), Person("u1")]


# -- properties ------------------------------------------------------------------------------------
@given(events=st.lists(gen.wire_events, max_size=15), link=gen.links)
def test_resolve_matches_the_naive_statement_of_the_rule(events: list[Event], link: Link) -> None:
    """Resolving gives the same person for every event as the quadratic restatement of the rule."""
    assert resolve(events, link) == naive_resolve(events, link)


@given(events=st.lists(gen.wire_events, max_size=15), link=gen.links, data=st.data())
def test_resolution_does_not_depend_on_batch_boundaries(events: list[Event], link: Link,
                                                        data: st.DataObject) -> None:  # fmt: skip
    """Feeding a Resolver the events in any split into batches resolves them as resolve does on the whole."""
    cuts = sorted(data.draw(st.lists(st.integers(0, len(events)), max_size=4), label="cuts"))
    resolver = Resolver(link)
    for start, stop in zip([0, *cuts], [*cuts, len(events)], strict=True):
        resolver.feed(events[start:stop])
    assert resolver.resolve() == resolve(events, link)


@given(events=st.lists(gen.wire_events, max_size=15), link=gen.links)
def test_an_event_naming_a_user_always_resolves_to_that_user(events: list[Event],
                                                             link: Link) -> None:  # fmt: skip
    """Under every link, an event carrying user u resolves to u and never to another user."""
    for event, person in zip(events, resolve(events, link), strict=True):
        if event.user_id is not None:
            assert person == Person(event.user_id)


@given(events=st.lists(gen.wire_events, max_size=15), link=gen.links)
def test_anonymous_events_resolve_only_to_a_user_joined_to_their_key(
    events: list[Event], link: Link
) -> None:
    """An anonymous event resolves to a user only if some event on the wire joins that user to its anonymous key."""
    joins = {(key, user) for _, key, user in naive_joins(events, link)}
    for event, person in zip(events, resolve(events, link), strict=True):
        if event.user_id is None and person.user_id is not None:
            assert (naive_key(event, link), person.user_id) in joins


@given(events=st.lists(gen.wire_events, min_size=1, max_size=15), link=gen.links, data=st.data())
def test_two_identified_users_never_merge(
    events: list[Event], link: Link, data: st.DataObject
) -> None:
    """Appending a merge, identify or alias from one identified user to another changes no earlier event's person."""
    # An anonymous-looking event keyed by the first user's id (what a decoder that cannot
    # tell a Mixpanel distinct id from a user id produces) goes in first, so a merge that
    # was wrongly accepted would move that event to the second user.
    users = sorted({e.user_id for e in events if e.user_id is not None})
    assume(len(users) >= 2)
    previous, user = data.draw(st.permutations(users), label="users")[:2]
    kind = data.draw(st.sampled_from(MERGING), label="kind")
    at = data.draw(st.integers(0, len(events)), label="at")
    keyed = Event(Kind.TRACK, anonymous_id=previous, device_id=previous, distinct_id=previous)
    events = [*events[:at], keyed, *events[at:]]
    merge = Event(kind, user_id=user, distinct_id=user, previous_id=previous)
    before = resolve(events, link)
    after = resolve([*events, merge], link)
    assert after[:-1] == before
    assert after[-1] == Person(user)
