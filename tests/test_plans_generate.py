"""Tests for conformance.plans.generate: the committed example is current, and generated modules do what the plan says."""

from __future__ import annotations

import ast
import inspect
import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, reject
from hypothesis import strategies as st

from conformance._errors import InvalidInputError
from conformance.plans.generate import generate, write_modules
from conformance.plans.load import load_plan, parse_plan
from conformance.plans.model import Plan
from conformance.plans.recording import Call, RecordingClient, RecordingServer
from conformance.plans.wrapper import check_wrapper

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "plan" / "plan.json"
GENERATED = ROOT / "examples" / "plan" / "generated"
REGENERATE = "identity-conformance plan generate examples/plan/plan.json --out examples/plan/generated"


def module_from(name: str, text: str) -> types.ModuleType:
    """The module a generated text defines, executed in a fresh namespace."""
    module = types.ModuleType(name.removesuffix(".py"))
    exec(compile(text, name, "exec"), module.__dict__)  # noqa: S102  (the generator's own output)
    return module


def example_module(name: str) -> Any:
    """The example plan's generated module ``name``, freshly generated."""
    return module_from(name, generate(load_plan(EXAMPLE))[name])


def test_the_committed_example_modules_are_current() -> None:
    """examples/plan/generated/ holds exactly what the generator writes from examples/plan/plan.json."""
    expected = generate(load_plan(EXAMPLE))
    committed = {p.name for p in GENERATED.iterdir() if p.is_file()}
    assert committed == set(expected), f"stale files in {GENERATED}; regenerate with: {REGENERATE}"
    for name, text in expected.items():
        assert (GENERATED / name).read_text("utf-8") == text, f"{name} is stale; regenerate with: {REGENERATE}"


def test_output_does_not_depend_on_the_hash_seed() -> None:
    """Two processes with different hash seeds generate the same bytes from the example plan."""
    code = ("import sys; from conformance.plans.generate import generate; "
            "from conformance.plans.load import load_plan; "
            f"sys.stdout.write(repr(generate(load_plan({str(EXAMPLE)!r}))))")  # fmt: skip
    outputs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                              env={**os.environ, "PYTHONHASHSEED": seed}).stdout
               for seed in ("1", "2")}  # fmt: skip
    assert len(outputs) == 1


def test_one_module_per_source_each_defining_its_class() -> None:
    """The example's client source gets ClientTracking and its server sources ServerTracking, each with SOURCE set."""
    modules = {name: module_from(name, text) for name, text in generate(load_plan(EXAMPLE)).items()}
    assert list(modules) == ["web.py", "backend.py", "worker.py"]
    assert modules["web.py"].SOURCE == "web"
    assert hasattr(modules["web.py"], "ClientTracking")
    assert not hasattr(modules["web.py"], "ServerTracking")
    assert hasattr(modules["backend.py"], "ServerTracking")
    for name, text in generate(load_plan(EXAMPLE)).items():
        ast.parse(text, name)


def test_a_client_identify_event_identifies_with_the_user_properties_then_tracks() -> None:
    """web.signed_up() calls identify(user_id, user properties) and then track(name, event properties)."""
    sdk = RecordingClient()
    example_module("web.py").ClientTracking(sdk).signed_up(
        user_id="u-1", signup_method="google", plan="pro", marketing_opt_in=False)
    assert sdk.calls == [
        Call("identify", user_id="u-1", traits={"Plan": "pro", "Marketing Opt In": False}),
        Call("track", name="Signed Up", properties={"Signup Method": "google"}),
    ]


def test_unidentify_resets_after_the_event() -> None:
    """web.signed_out() tracks the event and then calls reset(), never identify."""
    sdk = RecordingClient()
    example_module("web.py").ClientTracking(sdk).signed_out()
    assert sdk.calls == [Call("track", name="Signed Out", properties={}), Call("reset")]


def test_a_client_identify_function_refuses_none_before_any_call() -> None:
    """web.signed_in(user_id=None) raises TypeError and calls nothing."""
    sdk = RecordingClient()
    with pytest.raises(TypeError, match=r"signed_in\(\) needs a user_id"):
        example_module("web.py").ClientTracking(sdk).signed_in(user_id=None, method="sso")
    assert sdk.calls == []


def test_a_server_function_passes_both_ids_through() -> None:
    """backend.order_completed() sends the user id and the anonymous id exactly as given."""
    sdk = RecordingServer()
    example_module("backend.py").ServerTracking(sdk).order_completed(
        user_id=None, anonymous_user_id=" anon-1 ", order_id="o-1", total=9.5, item_count=2)
    assert sdk.calls == [Call("track", name="Order Completed", user_id=None, anonymous_id=" anon-1 ", server=True,
                              properties={"Order Id": "o-1", "Total": 9.5, "Item Count": 2})]  # fmt: skip


@pytest.mark.parametrize(("module", "kwargs"), [
    ("backend.py", {"user_id": None}),
    ("backend.py", {"user_id": None, "anonymous_user_id": None}),
    ("worker.py", {"user_id": None}),
])  # fmt: skip
def test_a_server_function_refuses_a_call_with_neither_id(module: str, kwargs: dict[str, Any]) -> None:
    """A server function called with neither id raises ValueError and calls nothing."""
    sdk = RecordingServer()
    tracking = example_module(module).ServerTracking(sdk)
    with pytest.raises(ValueError, match=r"order_completed\(\) needs a user_id"):
        tracking.order_completed(**kwargs, order_id="o-1", total=1.0, item_count=1)
    assert sdk.calls == []


def test_user_properties_on_a_server_go_in_one_identify_before_the_event() -> None:
    """worker.subscription_renewed() sends identify with the same ids and the user properties, then the event."""
    sdk = RecordingServer()
    example_module("worker.py").ServerTracking(sdk).subscription_renewed(user_id="u-1", months=12, plan="pro")
    assert sdk.calls == [
        Call("identify", user_id="u-1", anonymous_id=None, traits={"Plan": "pro"}, server=True),
        Call("track", name="Subscription Renewed", properties={"Months": 12}, user_id="u-1",
             anonymous_id=None, server=True),
    ]  # fmt: skip


def test_names_and_descriptions_that_need_escaping_round_trip() -> None:
    """Quotes, backslashes and non-ASCII in names and descriptions give valid Python that sends them unchanged."""
    odd = 'Caf\u00e9 "Opened" \\ now'
    plan = parse_plan({"version": 1, "name": 'The """odd""" plan', "sources": [{"name": "app", "platform": "client"}],
                       "events": [{"name": odd, "description": 'Ends in """ and \\', "sources": ["app"],
                                   "actions": ["LogEvent"], "properties": [{"name": odd + "!", "type": "string"}]}]})  # fmt: skip
    module = module_from("app.py", generate(plan)["app.py"])
    sdk = RecordingClient()
    module.ClientTracking(sdk).caf_opened_now(caf_opened_now="x")
    assert sdk.calls == [Call("track", name=odd, properties={odd + "!": "x"})]
    # Python 3.13 dedents docstrings when compiling; cleandoc reads both the same way.
    assert inspect.cleandoc(module.ClientTracking.caf_opened_now.__doc__).endswith('Ends in """ and \\')


def test_write_modules_writes_each_file_and_leaves_no_temporary(tmp_path: Path) -> None:
    """write_modules creates the directory, writes one file per source and nothing else."""
    out = tmp_path / "a" / "b"
    written = write_modules(load_plan(EXAMPLE), out)
    assert [p.name for p in written] == ["web.py", "backend.py", "worker.py"]
    assert sorted(p.name for p in out.iterdir()) == ["backend.py", "web.py", "worker.py"]


EVENT_NAMES = ["Signed In", "Signed Up", "Page Viewed", "Order Completed", "Plan Changed"]
PROPERTY_NAMES = ["Method", "Path", "Total", "Item Count", "Remember Me", "Plan"]
ACTIONS = ["Identify", "UpdateUserProperties", "LogEvent", "Unidentify"]


@st.composite
def properties(draw: st.DrawFn, names: list[str]) -> dict[str, Any]:
    """One property of a random type, required or not, sometimes with allowed values."""
    kind = draw(st.sampled_from(["string", "int", "float", "bool"]))
    prop: dict[str, Any] = {"name": draw(st.sampled_from(names)), "type": kind, "required": draw(st.booleans())}
    if kind in {"string", "int"} and draw(st.booleans()):
        pool = ["a", "b", "c"] if kind == "string" else [1, 2, 3]
        prop["allowed_values"] = draw(st.lists(st.sampled_from(pool), min_size=1, unique=True))
    return prop


@st.composite
def plans(draw: st.DrawFn) -> Plan:
    """A valid plan: 1-3 sources of either platform, up to 4 events with random actions and properties."""
    sources = []
    for index in range(draw(st.integers(1, 3))):
        source: dict[str, Any] = {"name": f"s{index}", "platform": draw(st.sampled_from(["client", "server"]))}
        if source["platform"] == "server" and draw(st.booleans()):
            source["anonymous_user_id"] = True
        sources.append(source)
    events = []
    for name in draw(st.lists(st.sampled_from(EVENT_NAMES), max_size=4, unique=True)):
        actions = draw(st.lists(st.sampled_from(ACTIONS), min_size=1, unique=True))
        names = draw(st.permutations(PROPERTY_NAMES))
        count = draw(st.integers(0, 3))
        event: dict[str, Any] = {
            "name": name, "actions": actions,
            "sources": draw(st.lists(st.sampled_from([s["name"] for s in sources]), min_size=1, unique=True)),
            "properties": [draw(properties([n])) for n in names[:count]],
        }  # fmt: skip
        if "UpdateUserProperties" in actions:
            event["user_properties"] = [draw(properties([n])) for n in names[count:count + draw(st.integers(1, 2))]]
        events.append(event)
    try:
        return parse_plan({"version": 1, "name": "Drawn", "sources": sources, "events": events})
    except InvalidInputError:
        reject()


@given(plans())
def test_generated_modules_pass_every_wrapper_rule(plan: Plan) -> None:
    """For any valid plan, every generated module compiles and check_wrapper finds nothing in it."""
    for name, text in generate(plan).items():
        assert check_wrapper(plan, module_from(name, text), name) == []


@given(plans())
def test_generation_is_deterministic(plan: Plan) -> None:
    """Generating twice from the same plan gives the same text."""
    assert generate(plan) == generate(plan)
