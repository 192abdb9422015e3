"""Tests for conformance.plans.load: reading plans, the published schema, and refusing bad plans by entry."""

from __future__ import annotations

import copy
import importlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from conformance._errors import InvalidInputError
from conformance.plans.load import load_plan, parse_plan, plan_schema
from conformance.plans.model import Action, Platform, PropertyType, python_name

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "plan" / "plan.json"

BASE: dict[str, Any] = {
    "version": 1,
    "name": "Test plan",
    "sources": [
        {"name": "web", "platform": "client"},
        {"name": "api", "platform": "server", "anonymous_user_id": True},
    ],
    "events": [
        {"name": "Signed In", "sources": ["web", "api"], "actions": ["LogEvent", "Identify"],
         "properties": [{"name": "Method", "type": "string", "allowed_values": ["password", "sso"]}]},
        {"name": "Plan Changed", "sources": ["web"], "actions": ["Identify", "UpdateUserProperties"],
         "user_properties": [{"name": "Plan", "type": "string"}]},
    ],
}  # fmt: skip


def test_the_base_plan_loads() -> None:
    """The plan the bad-plan cases start from is itself valid and matches the schema."""
    plan = parse_plan(BASE)
    assert [e.function for e in plan.events] == ["signed_in", "plan_changed"]
    jsonschema.validate(BASE, plan_schema())


def test_the_example_plan_loads_as_written() -> None:
    """examples/plan/plan.json loads: its sources, events, properties and defaults as written."""
    plan = load_plan(EXAMPLE)
    assert plan.name == "Example shop"
    assert [(s.name, s.platform, s.anonymous_user_id) for s in plan.sources] == [
        ("web", Platform.CLIENT, False), ("backend", Platform.SERVER, True),
        ("worker", Platform.SERVER, False)]  # fmt: skip
    signed_up = plan.events[0]
    assert signed_up.sources == ("web", "backend")
    assert [p.parameter for p in signed_up.parameters] == ["signup_method", "referral_code", "plan", "marketing_opt_in"]
    assert signed_up.properties[0].type is PropertyType.STRING
    assert signed_up.properties[0].required is True  # the default
    assert signed_up.properties[1].required is False


def test_actions_take_avos_order_whatever_order_they_are_listed_in() -> None:
    """Actions listed as LogEvent, Identify, UpdateUserProperties come out Identify, UpdateUserProperties, LogEvent."""
    plan = load_plan(EXAMPLE)
    assert plan.events[0].actions == (Action.IDENTIFY, Action.UPDATE_USER_PROPERTIES, Action.LOG_EVENT)
    signed_out = next(e for e in plan.events if e.name == "Signed Out")
    assert signed_out.actions == (Action.LOG_EVENT, Action.UNIDENTIFY)


def test_the_packaged_schema_is_draft_2020_12_and_accepts_the_example() -> None:
    """plan.schema.json ships in the package, is a valid draft 2020-12 schema, and the example plan fits it."""
    schema = plan_schema()
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(json.loads(EXAMPLE.read_text()))


@pytest.mark.parametrize(("name", "expected"), [
    ("Signed In", "signed_in"), ("signedIn", "signed_in"), ("HTTPRequest Sent", "http_request_sent"),
    ("  Button-Name!", "button_name"), ("class", "class_"), ("404 Seen", "404_seen"), ("!!!", ""),
])  # fmt: skip
def test_python_names_are_snake_case(name: str, expected: str) -> None:
    """A plan name becomes its snake_case Python name; keywords get a trailing underscore."""
    assert python_name(name) == expected


def _event(index: int, **changes: Any) -> Callable[[dict[str, Any]], None]:
    def change(plan: dict[str, Any]) -> None:
        plan["events"][index].update(changes)

    return change


def _prop(index: int, **changes: Any) -> Callable[[dict[str, Any]], None]:
    def change(plan: dict[str, Any]) -> None:
        plan["events"][0]["properties"][index].update(changes)

    return change


def _add_prop(key: str, prop: dict[str, Any], event: int = 0) -> Callable[[dict[str, Any]], None]:
    def change(plan: dict[str, Any]) -> None:
        plan["events"][event].setdefault(key, []).append(prop)

    return change


def _add_event(event: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    def change(plan: dict[str, Any]) -> None:
        plan["events"].append(event)

    return change


def _source(index: int, **changes: Any) -> Callable[[dict[str, Any]], None]:
    def change(plan: dict[str, Any]) -> None:
        plan["sources"][index].update(changes)

    return change


def _top(**changes: Any) -> Callable[[dict[str, Any]], None]:
    def change(plan: dict[str, Any]) -> None:
        plan.update(changes)

    return change


_SIGNED_UP = {"name": "Signed Up", "sources": ["web"], "actions": ["LogEvent"]}

# (id, change to BASE, fragments the message must contain, whether the schema refuses it too)
BAD_PLANS: list[tuple[str, Callable[[dict[str, Any]], None], list[str], bool]] = [
    ("unknown action", _event(0, actions=["LogEvent", "Login"]),
     ["events[0] 'Signed In' > actions[1]", "unknown action 'Login' of type str", "LogEvent"], True),
    ("action listed twice", _event(0, actions=["LogEvent", "LogEvent"]),
     ["events[0] 'Signed In' > actions[1]", "listed twice"], True),
    ("no actions", _event(0, actions=[]), ["events[0] 'Signed In'", "'actions' is empty"], True),
    ("bad property type", _prop(0, type="text"),
     ["events[0] 'Signed In' > properties[0] 'Method'", "unknown type 'text' of type str", "string, int, float, bool"], True),
    ("required is not a bool", _prop(0, required="yes"),
     ["properties[0] 'Method'", "'required' must be true or false (got 'yes' of type str)"], True),
    ("duplicate event name", _add_event({**_SIGNED_UP, "name": "Signed In"}),
     ["events[2] 'Signed In'", "same name as events[0] 'Signed In'"], False),
    ("event names that make the same function", _add_event({**_SIGNED_UP, "name": "signed-in"}),
     ["events[2] 'signed-in'", "same function name signed_in() as events[0] 'Signed In'"], False),
    ("duplicate property name", _add_prop("properties", {"name": "Method", "type": "string"}),
     ["events[0] 'Signed In' > properties[1] 'Method'", "same name 'Method' as properties[0] 'Method'"], False),
    ("user property with a property's parameter", _add_prop("user_properties", {"name": "plan", "type": "string"}, 1),
     ["events[1] 'Plan Changed' > user_properties[1] 'plan'", "same parameter 'plan' as user_properties[0] 'Plan'"], False),
    ("property named like the user id", _add_prop("properties", {"name": "User Id", "type": "string"}),
     ["events[0] 'Signed In' > properties[1] 'User Id'", "parameter 'user_id'", "Rename the property"], False),
    ("property named like the anonymous id", _add_prop("properties", {"name": "anonymousUserId", "type": "string"}),
     ["properties[1] 'anonymousUserId'", "parameter 'anonymous_user_id'"], False),
    ("property named userid", _add_prop("properties", {"name": "userid", "type": "string"}),
     ["properties[1] 'userid'", "parameter 'userid', which reads as 'user_id'", "keep that name for identity"], False),
    ("property named self", _add_prop("properties", {"name": "self", "type": "bool"}),
     ["properties[1] 'self'", "parameter 'self', which names the tracking object"], False),
    ("property name gives no parameter", _add_prop("properties", {"name": "42", "type": "int"}),
     ["properties[1] '42'", "no Python parameter name (got '42')"], False),
    ("allowed values of the wrong type", _prop(0, allowed_values=["password", 3]),
     ["properties[0] 'Method' > allowed_values[1]", "cannot take 3 of type int"], True),
    ("allowed values on a bool", _add_prop("properties", {"name": "Remember", "type": "bool", "allowed_values": [True]}),
     ["properties[1] 'Remember'", "'allowed_values' on a bool property"], True),
    ("empty allowed values", _prop(0, allowed_values=[]), ["properties[0] 'Method'", "'allowed_values' is empty"], True),
    ("allowed value listed twice", _prop(0, allowed_values=["sso", "sso"]),
     ["properties[0] 'Method' > allowed_values[1]", "'sso' is listed twice"], True),
    ("misspelt key", _prop(0, requried=False),
     ["properties[0] 'Method'", "unknown key 'requried' of type str in a property", "required"], True),
    ("missing key", _add_event({"name": "Signed Up", "sources": ["web"]}),
     ["events[2]", "the event has no 'actions'"], True),
    ("unknown source", _event(0, sources=["web", "mobile"]),
     ["events[0] 'Signed In' > sources[1]", "unknown source 'mobile' of type str", "'web', 'api'"], False),
    ("no sources for an event", _event(0, sources=[]), ["events[0] 'Signed In'", "'sources' is empty"], True),
    ("anonymous id on a client source", _source(0, anonymous_user_id=True),
     ["sources[0] 'web'", "'anonymous_user_id' is enabled on a client source"], True),
    ("unknown platform", _source(0, platform="browser"), ["sources[0] 'web'", "unknown platform 'browser' of type str"], True),
    ("source name that is no module name", _source(0, name="Web App"),
     ["sources[0]", "lower-case Python name (got 'Web App' of type str)"], True),
    ("duplicate source", _top(sources=[{"name": "web", "platform": "client"}] * 2),
     ["sources[1] 'web'", "a second source of this name"], False),
    ("no sources", _top(sources=[]), ["'sources' is empty"], True),
    ("wrong version", _top(version=2), ["'version' must be 1 (got 2 of type int)"], True),
    ("user properties without the action", _event(1, actions=["Identify"]),
     ["events[1] 'Plan Changed'", "'user_properties' but not the UpdateUserProperties action"], False),
    ("the action without user properties", _event(1, user_properties=[]),
     ["events[1] 'Plan Changed'", "UpdateUserProperties action but no 'user_properties'"], False),
    ("client user properties without Identify", _event(1, actions=["UpdateUserProperties"]),
     ["events[1] 'Plan Changed'", "UpdateUserProperties without Identify on client source 'web'"], False),
    ("a server event that does nothing", _event(0, actions=["Identify"]),
     ["events[0] 'Signed In'", "on server source 'api' its actions (Identify) do nothing"], False),
    ("event name gives no function", _add_event({**_SIGNED_UP, "name": "!!!"}),
     ["events[2] '!!!'", "no Python function name"], False),
    ("event name with a line break", _add_event({**_SIGNED_UP, "name": "Signed\nUp"}),
     ["events[2]", "'name' has a control character or line break (got 'Signed\\nUp' of type str)"], False),
    ("blank event name", _add_event({**_SIGNED_UP, "name": "  "}),
     ["events[2]", "'name' must be a non-empty string (got '  ' of type str)"], True),
]  # fmt: skip


@pytest.mark.parametrize(("change", "fragments"), [(c, f) for _, c, f, _ in BAD_PLANS],
                         ids=[case[0] for case in BAD_PLANS])  # fmt: skip
def test_a_bad_plan_is_refused_naming_the_entry(change: Callable[[dict[str, Any]], None],
                                                 fragments: list[str]) -> None:  # fmt: skip
    """Each bad plan raises InvalidInputError naming the file, the entry, the bad value, and a fix."""
    data = copy.deepcopy(BASE)
    change(data)
    with pytest.raises(InvalidInputError) as caught:
        parse_plan(data, "plan 'shop.json'")
    message = str(caught.value)
    assert message.startswith("plan 'shop.json': ")
    for fragment in fragments:
        assert fragment in message
    assert message.rstrip().endswith(".")  # ends with what to do


@pytest.mark.parametrize(("change", "refused"), [(c, r) for _, c, _, r in BAD_PLANS],
                         ids=[case[0] for case in BAD_PLANS])  # fmt: skip
def test_the_schema_refuses_what_it_can_express(change: Callable[[dict[str, Any]], None], refused: bool) -> None:
    """The published schema refuses each structurally bad plan; the rest only the loader refuses."""
    data = copy.deepcopy(BASE)
    change(data)
    valid = jsonschema.Draft202012Validator(plan_schema()).is_valid(data)
    assert valid is not refused


def test_a_plan_that_is_not_an_object_is_refused() -> None:
    """A JSON list where the plan should be is refused saying a plan is an object."""
    with pytest.raises(InvalidInputError, match=r"a plan must be an object \(got \[\] of type list\)"):
        parse_plan([])


def test_invalid_json_is_refused_with_the_line(tmp_path: Path) -> None:
    """A file that is not JSON is refused naming the file and the line and column."""
    path = tmp_path / "plan.json"
    path.write_text('{"version": 1,\n "name": }')
    with pytest.raises(InvalidInputError, match=r"plan '.*plan\.json' is not valid JSON: .* at line 2 column 10"):
        load_plan(path)


def test_a_key_given_twice_is_refused(tmp_path: Path) -> None:
    """A JSON object with the same key twice (the second would silently win) is refused naming the key."""
    path = tmp_path / "plan.json"
    path.write_text('{"version": 1, "version": 1}')
    with pytest.raises(InvalidInputError, match=r"the key 'version' appears twice"):
        load_plan(path)


def test_nan_is_refused(tmp_path: Path) -> None:
    """NaN, which Python's json accepts but JSON does not have, is refused."""
    path = tmp_path / "plan.json"
    path.write_text('{"version": NaN}')
    with pytest.raises(InvalidInputError, match=r"NaN is not a JSON value"):
        load_plan(path)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    """A plan path that does not exist is refused naming it."""
    with pytest.raises(InvalidInputError, match=r"cannot read plan '.*nothing\.json'"):
        load_plan(tmp_path / "nothing.json")


def test_errors_from_a_file_name_the_file(tmp_path: Path) -> None:
    """An error in a plan read from a file starts with that file's path."""
    data = copy.deepcopy(BASE)
    data["events"][0]["actions"] = ["Track"]
    path = tmp_path / "shop.json"
    path.write_text(json.dumps(data))
    with pytest.raises(InvalidInputError, match=rf"^plan {str(path)!r}: events\[0\] 'Signed In' > actions\[0\]"):
        load_plan(path)


def test_yaml_without_pyyaml_says_what_to_install(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A .yaml plan without PyYAML installed is refused saying to install it or use JSON."""
    real = importlib.import_module

    def without_yaml(name: str, package: str | None = None) -> Any:
        if name == "yaml":
            raise ImportError(name)
        return real(name, package)

    monkeypatch.setattr(importlib, "import_module", without_yaml)
    path = tmp_path / "plan.yaml"
    path.write_text("version: 1\n")
    with pytest.raises(InvalidInputError, match=r"is YAML, which needs PyYAML: pip install pyyaml, or write the plan as JSON"):
        load_plan(path)


def test_yaml_loads_like_json_when_pyyaml_is_installed(tmp_path: Path) -> None:
    """With PyYAML installed, a .yaml plan loads to the same Plan as its JSON form."""
    yaml = pytest.importorskip("yaml")
    path = tmp_path / "plan.yml"
    path.write_text(yaml.safe_dump(BASE))
    assert load_plan(path) == parse_plan(BASE)
