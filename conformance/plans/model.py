"""A tracking plan as frozen records: events, their properties, actions and sources.

A plan is data a team writes once (``plan.json``); :mod:`conformance.plans.load` reads and
refuses bad ones, :mod:`conformance.plans.generate` writes the reference tracking functions
from it and :mod:`conformance.plans.wrapper` checks a third-party wrapper against it. The
records here are already valid: every check lives in the loader.
"""

from __future__ import annotations

import enum
import keyword
import re

import attrs


class Action(str, enum.Enum):
    """What an event's tracking function does, besides taking its properties."""

    IDENTIFY = "Identify"
    """Client: identify the user (the function requires ``user_id``) before the event.

    Server functions do not change: every one requires ``user_id`` already."""
    UPDATE_USER_PROPERTIES = "UpdateUserProperties"
    """Send the event's user properties as traits with the identify call."""
    LOG_EVENT = "LogEvent"
    """Track the event with its properties."""
    UNIDENTIFY = "Unidentify"
    """Client: forget the user (``reset()``) after the event. Server functions hold no identity."""


ACTION_ORDER = (Action.IDENTIFY, Action.UPDATE_USER_PROPERTIES, Action.LOG_EVENT, Action.UNIDENTIFY)
"""The order a function performs its actions in, as Avo documents it (SEMANTICS.md 2.6)."""


class Platform(str, enum.Enum):
    """Where a source's tracking functions run: the SDK owns identity, or each call names it."""

    CLIENT = "client"
    SERVER = "server"


class PropertyType(str, enum.Enum):
    """The value types a property may declare, with their Python annotations."""

    STRING = "string"
    INT = "int"
    FLOAT = "float"
    BOOL = "bool"

    @property
    def annotation(self) -> str:
        """The Python type a generated function annotates the parameter with."""
        return {"string": "str", "int": "int", "float": "float", "bool": "bool"}[self.value]


IDENTITY_PARAMETERS = frozenset({"user_id", "anonymous_user_id", "anonymous_id"})
"""Parameter names the functions keep for identity; no property may become one of them."""


def python_name(name: str) -> str:
    """The snake_case Python name of a plan name: ``'Signed In'`` and ``'signedIn'`` give ``signed_in``.

    Word boundaries are spaces, punctuation and lower-to-upper case changes; anything that is
    not an ASCII letter or digit is dropped. A Python keyword gets a trailing underscore
    (``'class'`` gives ``class_``). The result may be empty or start with a digit: the loader
    refuses those names.
    """
    text = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    text = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", text)
    text = re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_").lower()
    return f"{text}_" if keyword.iskeyword(text) else text


def identity_parameter(parameter: str) -> str | None:
    """The identity parameter ``parameter`` reads as (``userid`` reads as ``user_id``), or ``None``."""
    flat = parameter.replace("_", "")
    return next((p for p in sorted(IDENTITY_PARAMETERS) if p.replace("_", "") == flat), None)


@attrs.frozen
class Property:
    """One property of an event: its name on the wire, type, whether it is required, allowed values."""

    name: str
    type: PropertyType
    required: bool = True
    allowed_values: tuple[str | int, ...] = ()
    """When not empty, the only values the property may take (string and int properties)."""
    description: str = ""

    @property
    def parameter(self) -> str:
        """The keyword-only parameter the property becomes (``'Button Name'`` gives ``button_name``)."""
        return python_name(self.name)


@attrs.frozen
class Source:
    """Where events are sent from; a server source may enable the anonymous-id parameter."""

    name: str
    """A Python identifier: the generated module is ``<name>.py``."""
    platform: Platform
    anonymous_user_id: bool = False
    """Server only: the functions take an optional ``anonymous_user_id`` besides ``user_id``."""

    @property
    def is_client(self) -> bool:
        """Whether the SDK keeps the identity (client) rather than each call (server)."""
        return self.platform is Platform.CLIENT

    @property
    def class_name(self) -> str:
        """The class a wrapper module defines for this source: ``ClientTracking`` or ``ServerTracking``."""
        return "ClientTracking" if self.is_client else "ServerTracking"


@attrs.frozen
class Event:
    """One event of the plan: the function that sends it, from which sources, doing what."""

    name: str
    """The event's name on the wire (``track(name, ...)``)."""
    sources: tuple[str, ...]
    actions: tuple[Action, ...]
    """In :data:`ACTION_ORDER`, whatever order the plan listed them in."""
    properties: tuple[Property, ...] = ()
    user_properties: tuple[Property, ...] = ()
    """Sent as traits by UpdateUserProperties."""
    description: str = ""

    @property
    def function(self) -> str:
        """The tracking function's name (``'Signed In'`` gives ``signed_in``)."""
        return python_name(self.name)

    @property
    def parameters(self) -> tuple[Property, ...]:
        """Event properties, then user properties: each is a keyword-only parameter."""
        return self.properties + self.user_properties

    def has(self, action: Action) -> bool:
        """Whether the event has ``action``."""
        return action in self.actions

    def identifies_on(self, source: Source) -> bool:
        """Whether the function calls identify on ``source``.

        On a client, for the Identify action. On a server, for UpdateUserProperties only: the
        Identify action does not change server functions, since every call names its user.
        """
        if source.is_client:
            return self.has(Action.IDENTIFY)
        return self.has(Action.UPDATE_USER_PROPERTIES)


@attrs.frozen
class Plan:
    """A whole tracking plan: its sources, and its events in the order the plan lists them."""

    name: str
    sources: tuple[Source, ...]
    events: tuple[Event, ...]

    def source(self, name: str) -> Source:
        """The source called ``name``; raise ``KeyError`` naming the sources there are."""
        for source in self.sources:
            if source.name == name:
                return source
        msg = f"no source {name!r} in plan {self.name!r}; its sources are {[s.name for s in self.sources]}"
        raise KeyError(msg)

    def events_for(self, source: Source) -> tuple[Event, ...]:
        """The events sent from ``source``, in plan order."""
        return tuple(e for e in self.events if source.name in e.sources)
