"""Reading a tracking plan (JSON, or YAML when PyYAML is installed) and refusing bad ones.

Every refusal is an :class:`~conformance._errors.InvalidInputError` whose message names the
file, the entry (``events[2] 'Signed In' > properties[0] 'User Id'``), the bad value with
its type, and what to do. The published shape is ``plan.schema.json`` next to this module
(:func:`plan_schema`); the loader also refuses what a schema cannot say: duplicate names,
property names that become identity parameters, actions a source cannot perform.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
from collections.abc import Mapping
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

from conformance._errors import InvalidInputError, describe
from conformance.plans.model import (
    ACTION_ORDER,
    Action,
    Event,
    Plan,
    Platform,
    Property,
    PropertyType,
    Source,
    identity_parameter,
    python_name,
)

SCHEMA_FILE = "plan.schema.json"
FORMAT_VERSION = 1
_SOURCE_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
_KEYS = {
    "plan": ({"version", "name", "sources", "events"}, {"$schema"}),
    "source": ({"name", "platform"}, {"anonymous_user_id"}),
    "event": ({"name", "sources", "actions"}, {"description", "properties", "user_properties"}),
    "property": ({"name", "type"}, {"required", "allowed_values", "description"}),
}
"""Per kind of entry: the keys it must have, and the keys it may have."""


@functools.cache
def plan_schema() -> dict[str, Any]:
    """The plan format's JSON Schema (draft 2020-12), as shipped in this package."""
    text = resources.files("conformance.plans").joinpath(SCHEMA_FILE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def load_plan(path: Path | str) -> Plan:
    """Read the plan in ``path`` (``.json``, or ``.yaml``/``.yml`` with PyYAML); refuse a bad one."""
    path = Path(path)
    origin = f"plan {str(path)!r}"
    try:
        text = path.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read {origin}: {exc}. Pass the path of a plan file (JSON, UTF-8)."
        raise InvalidInputError(msg) from exc
    if path.suffix.lower() in {".yaml", ".yml"}:
        data = _parse_yaml(text, origin)
    else:
        data = _parse_json(text, origin)
    return parse_plan(data, origin)


def _parse_json(text: str, origin: str) -> Any:
    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        seen: dict[str, Any] = {}
        for key, value in pairs:
            if key in seen:
                msg = f"{origin} is not valid: the key {key!r} appears twice in one object. Keep one."
                raise InvalidInputError(msg)
            seen[key] = value
        return seen

    def no_constant(name: str) -> NoReturn:
        msg = f"{origin} is not valid JSON: {name} is not a JSON value. Use a number."
        raise InvalidInputError(msg)

    try:
        return json.loads(text, object_pairs_hook=no_duplicates, parse_constant=no_constant)
    except json.JSONDecodeError as exc:
        msg = f"{origin} is not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}. Fix the file."
        raise InvalidInputError(msg) from exc


def _parse_yaml(text: str, origin: str) -> Any:
    try:
        yaml = importlib.import_module("yaml")
    except ImportError as exc:
        msg = f"{origin} is YAML, which needs PyYAML: pip install pyyaml, or write the plan as JSON."
        raise InvalidInputError(msg) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        msg = f"{origin} is not valid YAML: {exc}. Fix the file."
        raise InvalidInputError(msg) from exc


def parse_plan(data: object, origin: str = "plan") -> Plan:
    """The :class:`Plan` that ``data`` (parsed JSON) describes; refuse a bad one, naming the entry."""
    return _Reader(origin).plan(data)


class _Reader:
    """Walks parsed plan data; ``fail`` prefixes every message with the file and the entry."""

    def __init__(self, origin: str) -> None:
        self.origin = origin

    def fail(self, where: str, problem: str, fix: str) -> NoReturn:
        place = f"{self.origin}: {where}" if where else self.origin
        raise InvalidInputError(f"{place}: {problem}. {fix}")

    def entry(self, data: object, kind: str, where: str) -> Mapping[str, Any]:
        required, optional = _KEYS[kind]
        if not isinstance(data, dict):
            self.fail(where, f"a {kind} must be an object (got {describe(data)})",
                      f"Write it as {{{', '.join(repr(k) for k in sorted(required))}: ...}}.")  # fmt: skip
        if where and isinstance(data.get("name"), str):
            where = f"{where} {data['name']!r}"
        for key in sorted(set(data) - required - optional, key=str):
            allowed = ", ".join(sorted(required | optional))
            self.fail(where, f"unknown key {describe(key)} in a {kind}",
                      f"A {kind} has only these keys: {allowed}. Check the spelling.")  # fmt: skip
        for key in sorted(required - set(data)):
            self.fail(where, f"the {kind} has no {key!r}", f"Add {key!r} to it.")
        return data

    def text(self, value: object, where: str, key: str, fix: str) -> str:
        if not isinstance(value, str) or not value.strip():
            self.fail(where, f"{key!r} must be a non-empty string (got {describe(value)})", fix)
        if not value.isprintable():
            self.fail(where, f"{key!r} has a control character or line break (got {describe(value)})",
                      "Write the name on one line, in printable characters.")  # fmt: skip
        return value

    def flag(self, value: object, where: str, key: str) -> bool:
        if not isinstance(value, bool):
            self.fail(where, f"{key!r} must be true or false (got {describe(value)})",
                      f"Write {key!r}: true or {key!r}: false.")  # fmt: skip
        return value

    def items(self, value: object, where: str, key: str, fix: str) -> list[Any]:
        if not isinstance(value, list):
            self.fail(where, f"{key!r} must be a list (got {describe(value)})", fix)
        return value

    def plan(self, data: object) -> Plan:
        entry = self.entry(data, "plan", "")
        if type(entry["version"]) is not int or entry["version"] != FORMAT_VERSION:
            self.fail("", f"'version' must be {FORMAT_VERSION} (got {describe(entry['version'])})",
                      f'This suite reads plan format version {FORMAT_VERSION}; write "version": {FORMAT_VERSION}.')  # fmt: skip
        name = self.text(entry["name"], "", "name", 'Name the plan, e.g. "name": "Shop".')
        raw_sources = self.items(entry["sources"], "", "sources",
                                 'List them, e.g. [{"name": "web", "platform": "client"}].')  # fmt: skip
        if not raw_sources:
            self.fail("", "'sources' is empty", 'Add a source, e.g. {"name": "web", "platform": "client"}.')
        sources: dict[str, Source] = {}
        for index, raw in enumerate(raw_sources):
            source = self.source(raw, index)
            if source.name in sources:
                self.fail(f"sources[{index}] {source.name!r}", "a second source of this name",
                          "Give each source its own name.")  # fmt: skip
            sources[source.name] = source
        raw_events = self.items(entry["events"], "", "events", 'List them: "events": [...].')
        events: list[Event] = []
        for index, raw in enumerate(raw_events):
            event = self.event(raw, index, sources)
            for other_index, other in enumerate(events):
                if other.name == event.name or other.function == event.function:
                    same = ("it has the same name as" if other.name == event.name
                            else f"it has the same function name {event.function}() as")  # fmt: skip
                    self.fail(f"events[{index}] {event.name!r}",
                              f"{same} events[{other_index}] {other.name!r}",
                              "Give each event its own name (names differing only in case or "
                              "punctuation make the same function).")  # fmt: skip
            events.append(event)
        return Plan(name=name, sources=tuple(sources.values()), events=tuple(events))

    def source(self, data: object, index: int) -> Source:
        where = f"sources[{index}]"
        entry = self.entry(data, "source", where)
        name = entry["name"]
        if not isinstance(name, str) or not _SOURCE_NAME.match(name) or python_name(name) != name:
            self.fail(where, f"a source name must be a lower-case Python name (got {describe(name)})",
                      "It names the generated module: use letters, digits and _, e.g. 'web' or 'backend'.")  # fmt: skip
        where = f"{where} {name!r}"
        platform = entry["platform"]
        if platform not in {p.value for p in Platform}:
            self.fail(where, f"unknown platform {describe(platform)}",
                      'Write "platform": "client" (the SDK keeps the identity) or "server" '
                      "(every call names the user).")  # fmt: skip
        anonymous = self.flag(entry.get("anonymous_user_id", False), where, "anonymous_user_id")
        if anonymous and platform == Platform.CLIENT.value:
            self.fail(where, "'anonymous_user_id' is enabled on a client source",
                      "Client SDKs own the anonymous id, so client functions never take one; "
                      "drop the key (it is for server sources).")  # fmt: skip
        return Source(name=name, platform=Platform(platform), anonymous_user_id=anonymous)

    def event(self, data: object, index: int, sources: Mapping[str, Source]) -> Event:
        where = f"events[{index}]"
        entry = self.entry(data, "event", where)
        name = self.text(entry["name"], where, "name", "Name the event as it is sent, e.g. 'Signed In'.")
        where = f"{where} {name!r}"
        function = python_name(name)
        if not function or function[0].isdigit():
            self.fail(where, f"the event name gives no Python function name (got {function!r})",
                      "Start the name with an ASCII letter, e.g. 'Signed In'.")  # fmt: skip
        description = entry.get("description", "")
        if not isinstance(description, str):
            self.fail(where, f"'description' must be a string (got {describe(description)})",
                      "Write the description as text, or drop it.")  # fmt: skip
        event_sources = self.event_sources(entry["sources"], where, sources)
        actions = self.actions(entry["actions"], where)
        fix = 'List them, e.g. [{"name": "Method", "type": "string"}], or drop the key.'
        properties = [self.property(raw, f"{where} > properties[{i}]")
                      for i, raw in enumerate(self.items(entry.get("properties", []), where, "properties", fix))]  # fmt: skip
        user_properties = [self.property(raw, f"{where} > user_properties[{i}]")
                           for i, raw in enumerate(self.items(entry.get("user_properties", []), where, "user_properties", fix))]  # fmt: skip
        self.check_unique(properties, user_properties, where)
        updates = Action.UPDATE_USER_PROPERTIES in actions
        if user_properties and not updates:
            self.fail(where, "it has 'user_properties' but not the UpdateUserProperties action",
                      'Add "UpdateUserProperties" to its actions, or drop the user properties.')  # fmt: skip
        if updates and not user_properties:
            self.fail(where, "it has the UpdateUserProperties action but no 'user_properties'",
                      "List the user properties it sets, or drop the action.")  # fmt: skip
        for source_name in event_sources:
            source = sources[source_name]
            if source.is_client and updates and Action.IDENTIFY not in actions:
                self.fail(where, f"UpdateUserProperties without Identify on client source {source_name!r}",
                          "A client SDK sets user properties with identify(user_id, traits), which "
                          "needs the user id: add the Identify action, or send the event from a "
                          "server source only.")  # fmt: skip
            if not source.is_client and set(actions) <= {Action.IDENTIFY, Action.UNIDENTIFY}:
                self.fail(where, f"on server source {source_name!r} its actions "
                          f"({', '.join(a.value for a in actions)}) do nothing",
                          "Server functions name the user on every call and hold no identity, so "
                          "Identify and Unidentify change nothing there: add LogEvent, or send the "
                          "event from client sources only.")  # fmt: skip
        return Event(name=name, sources=event_sources, actions=actions,
                     properties=tuple(properties), user_properties=tuple(user_properties),
                     description=description)  # fmt: skip

    def event_sources(self, value: object, where: str, sources: Mapping[str, Source]) -> tuple[str, ...]:
        known = ", ".join(repr(s) for s in sources)
        raw = self.items(value, where, "sources", f"List the sources it is sent from, out of {known}.")
        if not raw:
            self.fail(where, "'sources' is empty", f"List the sources it is sent from, out of {known}.")
        for i, name in enumerate(raw):
            if not isinstance(name, str) or name not in sources:
                self.fail(f"{where} > sources[{i}]", f"unknown source {describe(name)}",
                          f"Name a source of the plan: {known}.")  # fmt: skip
            if name in raw[:i]:
                self.fail(f"{where} > sources[{i}]", f"the source {name!r} is listed twice", "List it once.")
        return tuple(raw)

    def actions(self, value: object, where: str) -> tuple[Action, ...]:
        names = ", ".join(a.value for a in ACTION_ORDER)
        raw = self.items(value, where, "actions", f"List its actions, out of {names}.")
        if not raw:
            self.fail(where, "'actions' is empty", f"List its actions, out of {names} (usually LogEvent).")
        for i, name in enumerate(raw):
            if name not in {a.value for a in Action}:
                self.fail(f"{where} > actions[{i}]", f"unknown action {describe(name)}",
                          f"Use one of {names} (spelled so).")  # fmt: skip
            if name in raw[:i]:
                self.fail(f"{where} > actions[{i}]", f"the action {name!r} is listed twice", "List it once.")
        return tuple(a for a in ACTION_ORDER if a.value in raw)

    def property(self, data: object, where: str) -> Property:
        entry = self.entry(data, "property", where)
        name = self.text(entry["name"], where, "name", "Name the property as it is sent, e.g. 'Method'.")
        where = f"{where} {name!r}"
        parameter = python_name(name)
        if not parameter or parameter[0].isdigit():
            self.fail(where, f"the property name gives no Python parameter name (got {parameter!r})",
                      "Start the name with an ASCII letter, e.g. 'Method'.")  # fmt: skip
        identity = identity_parameter(parameter)
        if identity is not None:
            reads = "" if identity == parameter else f", which reads as {identity!r}"
            self.fail(where, f"the property becomes the parameter {parameter!r}{reads}; the tracking "
                      "functions keep that name for identity",
                      "Identity is not a property: the functions take user_id (and on servers "
                      "anonymous_user_id) themselves. Rename the property, e.g. 'Account Id'.")  # fmt: skip
        if parameter == "self":
            self.fail(where, "the property becomes the parameter 'self', which names the tracking object",
                      "Rename the property, e.g. 'Self Service'.")  # fmt: skip
        kind = entry["type"]
        if kind not in {t.value for t in PropertyType}:
            self.fail(where, f"unknown type {describe(kind)}",
                      f"Use one of {', '.join(t.value for t in PropertyType)}.")  # fmt: skip
        prop_type = PropertyType(kind)
        required = self.flag(entry.get("required", True), where, "required")
        description = entry.get("description", "")
        if not isinstance(description, str):
            self.fail(where, f"'description' must be a string (got {describe(description)})",
                      "Write the description as text, or drop it.")  # fmt: skip
        allowed = self.allowed(entry.get("allowed_values"), prop_type, where)
        return Property(name=name, type=prop_type, required=required, allowed_values=allowed,
                        description=description)  # fmt: skip

    def allowed(self, value: object, prop_type: PropertyType, where: str) -> tuple[str | int, ...]:
        if value is None:
            return ()
        if prop_type not in {PropertyType.STRING, PropertyType.INT}:
            self.fail(where, f"'allowed_values' on a {prop_type.value} property",
                      "Only string and int properties take allowed values; drop the key.")  # fmt: skip
        raw = self.items(value, where, "allowed_values", 'List the values, e.g. ["email", "sso"].')
        if not raw:
            self.fail(where, "'allowed_values' is empty", "List at least one value, or drop the key.")
        python_type = str if prop_type is PropertyType.STRING else int
        for i, item in enumerate(raw):
            if type(item) is not python_type:
                self.fail(f"{where} > allowed_values[{i}]",
                          f"a {prop_type.value} property cannot take {describe(item)}",
                          f"Write each value as a {prop_type.value}.")  # fmt: skip
            if item in raw[:i]:
                self.fail(f"{where} > allowed_values[{i}]", f"the value {item!r} is listed twice", "List it once.")
        return tuple(raw)

    def check_unique(self, properties: list[Property], user_properties: list[Property], where: str) -> None:
        seen: dict[str, str] = {}
        labelled = [(f"properties[{i}]", p) for i, p in enumerate(properties)]
        labelled += [(f"user_properties[{i}]", p) for i, p in enumerate(user_properties)]
        for label, prop in labelled:
            for key in (f"name {prop.name!r}", f"parameter {prop.parameter!r}"):
                if key in seen:
                    self.fail(f"{where} > {label} {prop.name!r}",
                              f"it has the same {key} as {seen[key]}",
                              "Give each property of an event its own name (names differing only "
                              "in case or punctuation make the same parameter).")  # fmt: skip
                seen[key] = f"{label} {prop.name!r}"
