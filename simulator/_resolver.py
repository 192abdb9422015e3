"""Downstream identity resolution: which person each event is attributed to.

Three link mechanisms (``SEMANTICS.md`` 1.3), one rule for all of them: an event that
names a user belongs to that user, and two identified users are never merged.

- ``both_ids``: an event carrying a user id and an anonymous id links them.
- ``merge_event``: an identify, alias or merge event names the previous (anonymous)
  distinct id; a merge whose previous id is itself an identified user is refused.
- ``device_map``: an event with a device id and a user id maps the device to the user;
  an anonymous device event belongs to the last user seen on the device before it.

An anonymous event belongs to the first user its anonymous key is linked to at or after
the event (the seed: "when a user is identified the anonymous events are associated
with the identified user"); with ``device_map``, to the last user linked before it first.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Sequence

import attrs

from simulator._profiles import Link
from simulator._records import Event, Kind


@attrs.frozen
class Person:
    """The resolution of one event: an identified user, or an anonymous key."""

    user_id: str | None
    anonymous_key: str | None = None

    @property
    def identified(self) -> bool:
        """Whether the event belongs to an identified user."""
        return self.user_id is not None

    def __str__(self) -> str:
        return f"user {self.user_id!r}" if self.user_id else f"anonymous {self.anonymous_key!r}"


def anonymous_key(event: Event, link: Link) -> str | None:
    """The id that a backend with ``link`` uses to join this event's anonymous history."""
    if link is Link.BOTH_IDS:
        return event.anonymous_id
    if link is Link.DEVICE_MAP:
        return event.device_id
    if event.distinct_id is not None and event.distinct_id != event.user_id:
        return event.distinct_id
    return None


@attrs.define
class Resolver:
    """Feed events in arrival order (any batching); ask for each event's person."""

    link: Link
    events: list[Event] = attrs.Factory(list)

    def feed(self, events: Iterable[Event]) -> None:
        """Add a batch of events; resolution depends only on the whole sequence."""
        self.events.extend(events)

    def resolve(self) -> list[Person]:
        """The person of every event fed so far, in the order fed."""
        return resolve(self.events, self.link)


class _Links:
    """Per anonymous key, the positions of the events that link it and their users, in order.

    Most keys are linked once: those take one entry in two flat dicts; only a key linked
    again gets lists. A million-event stream would otherwise allocate a container per key
    (or per link), and the garbage collector's passes over them cost more than resolving.
    """

    def __init__(self) -> None:
        self.first_position: dict[str, int] = {}
        self.first_user: dict[str, str] = {}
        self.more: dict[str, tuple[list[int], list[str]]] = {}

    def add(self, key: str, position: int, user: str) -> None:
        if key not in self.first_position:
            self.first_position[key], self.first_user[key] = position, user
            return
        more = self.more.get(key)
        if more is None:
            more = self.more[key] = ([self.first_position[key]], [self.first_user[key]])
        more[0].append(position)
        more[1].append(user)

    def user_at(self, key: str, position: int, link: Link) -> str | None:
        """The user that links ``key`` for an anonymous event at ``position`` (None: unlinked)."""
        first = self.first_position.get(key)
        if first is None:
            return None
        more = self.more.get(key)
        if more is None:  # one link: device_map takes it before or after, the others only after
            return self.first_user[key] if link is Link.DEVICE_MAP or first >= position else None
        positions, users = more
        at = bisect.bisect_left(positions, position)
        if link is Link.DEVICE_MAP and at > 0:  # the last user linked before, else the first after
            return users[at - 1]
        return users[at] if at < len(positions) else None


def _links(events: Sequence[Event], link: Link) -> _Links:
    """Every link in ``events`` under ``link`` (see :class:`_Links`)."""
    identified = {e.user_id for e in events if e.user_id is not None}
    links = _Links()
    for position, event in enumerate(events):
        user = event.user_id
        if user is None:
            continue
        if link is Link.MERGE_EVENT:
            key = event.previous_id
            merges = event.kind in (Kind.IDENTIFY, Kind.ALIAS, Kind.MERGE) and key is not None
            if not merges or key in identified:  # two identified users never merge
                continue
        else:
            key = anonymous_key(event, link)
        if key is not None:
            links.add(key, position, user)
    return links


def resolve(events: Sequence[Event], link: Link) -> list[Person]:
    """The person of each event in ``events`` under ``link``."""
    links = _links(events, link)
    users: dict[str, Person] = {}  # Persons are frozen: one per user serves every event
    people: list[Person] = []
    for position, event in enumerate(events):
        user = event.user_id
        if user is None:
            key = anonymous_key(event, link)
            user = links.user_at(key, position, link) if key is not None else None
            if user is None:
                people.append(Person(None, key))
                continue
        person = users.get(user)
        if person is None:
            person = users[user] = Person(user)
        people.append(person)
    return people
