"""Tests for conformance.plans.wrapper and conformance.plans.endtoend: every rule catches its fault, correct wrappers pass."""

from __future__ import annotations

import types
from pathlib import Path
from typing import Any

import pytest

from conformance._errors import InvalidInputError
from conformance.adapters.catalogue import load_adapter
from conformance.plans.endtoend import E2E_RULES, check_end_to_end
from conformance.plans.generate import generate
from conformance.plans.load import load_plan, parse_plan
from conformance.plans.model import Plan
from conformance.plans.mutants import (
    CORRECT,
    MUTANTS,
    CorrectClient,
    CorrectServer,
    WrapperMutant,
    mutant_plan,
)
from conformance.plans.wrapper import RULES, check_wrapper, load_wrapper, wrapper_source

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "plan" / "plan.json"
GENERATED = ROOT / "examples" / "plan" / "generated"

RICH = parse_plan({
    "version": 1, "name": "User properties",
    "sources": [{"name": "app", "platform": "client"}, {"name": "api", "platform": "server"}],
    "events": [{"name": "Plan Changed", "sources": ["app", "api"],
                "actions": ["Identify", "UpdateUserProperties", "LogEvent"],
                "user_properties": [{"name": "Plan", "type": "string"}]}],
})  # fmt: skip
"""A plan with user properties on both platforms, and a server source without the anonymous id."""


def generated(plan: Plan, name: str) -> types.ModuleType:
    """The generator's module for source ``name`` of ``plan``."""
    module = types.ModuleType(name)
    exec(compile(generate(plan)[f"{name}.py"], name, "exec"), module.__dict__)  # noqa: S102  (our generator's output)
    return module


def test_the_six_mutants_the_issue_lists_are_all_there() -> None:
    """MUTANTS holds the six faults the issue names, each with a rule of RULES."""
    names = {m.name for m in MUTANTS}
    assert {"identify-without-user-id", "identify-after-event", "unidentify-identify-none",
            "server-drops-anonymous-id", "server-accepts-no-ids", "client-takes-anonymous-id"} <= names  # fmt: skip
    assert all(m.rule in RULES for m in MUTANTS)


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_each_mutant_is_caught_by_its_rule_alone(mutant: WrapperMutant) -> None:
    """check_wrapper finds the mutant's fault, under the rule it names and no other."""
    findings = check_wrapper(mutant_plan(), mutant.wrapper)
    assert {f.rule for f in findings} == {mutant.rule}, [str(f) for f in findings]
    assert all(f.source == mutant.wrapper.SOURCE and f.event for f in findings)


@pytest.mark.parametrize("wrapper", CORRECT, ids=lambda w: w.SOURCE)
def test_the_hand_written_correct_wrappers_pass(wrapper: Any) -> None:
    """The correct wrappers the mutants are built from have no findings."""
    assert check_wrapper(mutant_plan(), wrapper) == []


@pytest.mark.parametrize("name", ["web", "backend", "worker"])
def test_the_committed_example_modules_pass(name: str) -> None:
    """Each committed generated example module passes every rule."""
    assert check_wrapper(load_plan(EXAMPLE), load_wrapper(str(GENERATED / f"{name}.py"))) == []


@pytest.mark.parametrize(("plan", "name"), [(mutant_plan(), "app"), (mutant_plan(), "api"),
                                            (RICH, "app"), (RICH, "api")])  # fmt: skip
def test_generated_modules_pass(plan: Plan, name: str) -> None:
    """The generator's modules for the mutant plan and the user-properties plan pass every rule."""
    assert check_wrapper(plan, generated(plan, name)) == []


def _client(**methods: Any) -> Any:
    return types.SimpleNamespace(SOURCE="app", ClientTracking=type("Client", (CorrectClient,), methods))


def _server(**methods: Any) -> Any:
    return types.SimpleNamespace(SOURCE="api", ServerTracking=type("Server", (CorrectServer,), methods))


def _rich(source: str, **methods: Any) -> Any:
    module = generated(RICH, source)
    cls = module.ClientTracking if source == "app" else module.ServerTracking
    return types.SimpleNamespace(SOURCE=source, **{cls.__name__: type("Variant", (cls,), methods)})


def _track_twice(self: Any, *, path: str) -> None:
    self._sdk.track("Page Viewed", {"Path": path})
    self._sdk.track("Page Viewed", {"Path": path})


def _raises(self: Any, *, path: str) -> None:
    raise RuntimeError("boom")


def _identifies_someone_else(self: Any, *, user_id: str, method: str) -> None:
    if user_id is None:
        raise TypeError
    self._sdk.identify("admin", {})
    self._sdk.track("Signed In", {"Method": method})


def _accepts_none(self: Any, *, user_id: str, method: str) -> None:
    self._sdk.identify(user_id, {})
    self._sdk.track("Signed In", {"Method": method})


def _extra_reset(self: Any, *, path: str) -> None:
    self._sdk.track("Page Viewed", {"Path": path})
    self._sdk.reset()


def _rich_server_late(self: Any, *, user_id: str, plan: str) -> None:
    if user_id is None:
        raise ValueError
    self._sdk.track("Plan Changed", {}, user_id=user_id, anonymous_id=None)
    self._sdk.identify(user_id=user_id, anonymous_id=None, traits={"Plan": plan})


def _rich_client_no_traits(self: Any, *, user_id: str, plan: str) -> None:
    if user_id is None:
        raise TypeError
    self._sdk.identify(user_id, {})
    self._sdk.track("Plan Changed", {})


class _Broken:
    def __init__(self, sdk: Any) -> None:
        raise RuntimeError("no")


# (id, plan, wrapper, the one rule it breaks)
RULE_CASES: list[tuple[str, Plan, Any, str]] = [
    ("no class", mutant_plan(), types.SimpleNamespace(SOURCE="app"), "wrapper.module.class"),
    ("the server class for a client source", mutant_plan(), types.SimpleNamespace(SOURCE="app", ServerTracking=CorrectServer), "wrapper.module.class"),
    ("a constructor that raises", mutant_plan(), types.SimpleNamespace(SOURCE="app", ClientTracking=_Broken), "wrapper.module.class"),
    ("a missing function", mutant_plan(), _client(signed_out=None), "wrapper.function.missing"),
    ("a missing property", mutant_plan(), _client(page_viewed=lambda self: None), "wrapper.signature.property-missing"),
    ("a positional property", mutant_plan(), _client(page_viewed=lambda self, path: None), "wrapper.signature.property-keyword-only"),
    ("an optional required property", mutant_plan(), _client(page_viewed=lambda self, *, path="/": None), "wrapper.signature.property-required"),
    ("an undeclared parameter", mutant_plan(), _client(page_viewed=lambda self, *, path, title: None), "wrapper.signature.undeclared-parameter"),
    ("keyword arguments", mutant_plan(), _client(page_viewed=lambda self, *, path, **extra: None), "wrapper.signature.undeclared-parameter"),
    ("a user id without Identify", mutant_plan(), _client(page_viewed=lambda self, *, path, user_id: None), "wrapper.signature.undeclared-parameter"),
    ("a user id positional only", mutant_plan(), _client(signed_in=lambda self, user_id, /, *, method: None), "wrapper.client.identify-requires-user-id"),
    ("a server user id with a default", mutant_plan(), _server(page_viewed=lambda self, *, path, user_id=None, anonymous_user_id=None: None), "wrapper.server.requires-user-id"),
    ("a required anonymous id", mutant_plan(), _server(page_viewed=lambda self, *, path, user_id, anonymous_user_id: None), "wrapper.server.anonymous-user-id-optional"),
    ("no anonymous id where enabled", mutant_plan(), _server(page_viewed=lambda self, *, path, user_id: None), "wrapper.server.anonymous-user-id-optional"),
    ("an anonymous id where not enabled", RICH, _rich("api", plan_changed=lambda self, *, user_id, plan, anonymous_user_id=None: None), "wrapper.server.no-anonymous-user-id"),
    ("a call that raises", mutant_plan(), _client(page_viewed=_raises), "wrapper.call.raised"),
    ("an event tracked twice", mutant_plan(), _client(page_viewed=_track_twice), "wrapper.event.logged"),
    ("an extra call", mutant_plan(), _client(page_viewed=_extra_reset), "wrapper.calls.match"),
    ("identify of another user", mutant_plan(), _client(signed_in=_identifies_someone_else), "wrapper.client.identify-user-id"),
    ("identify(None) accepted", mutant_plan(), _client(signed_in=_accepts_none), "wrapper.client.refuses-missing-user-id"),
    ("user properties dropped", RICH, _rich("app", plan_changed=_rich_client_no_traits), "wrapper.user-properties"),
    ("server user properties after the event", RICH, _rich("api", plan_changed=_rich_server_late), "wrapper.server.identify-before-event"),
]  # fmt: skip


@pytest.mark.parametrize(("plan", "wrapper", "rule"), [c[1:] for c in RULE_CASES], ids=[c[0] for c in RULE_CASES])
def test_each_rule_catches_its_fault_alone(plan: Plan, wrapper: Any, rule: str) -> None:
    """A wrapper with one fault has findings under that fault's rule only, each naming the source."""
    findings = check_wrapper(plan, wrapper)
    assert {f.rule for f in findings} == {rule}, [str(f) for f in findings]
    assert all(str(f).startswith(f"{rule} [{wrapper.SOURCE}") for f in findings)


def test_every_rule_is_proved_by_a_fault() -> None:
    """Every rule in RULES is the rule of some mutant or rule case, so none is a check that never fires."""
    proved = {m.rule for m in MUTANTS} | {c[3] for c in RULE_CASES}
    assert proved == set(RULES)


def test_a_finding_names_the_call_and_what_was_recorded() -> None:
    """The identify-after-event finding shows the call made and the SDK calls in the order recorded."""
    mutant = next(m for m in MUTANTS if m.name == "identify-after-event")
    (finding,) = check_wrapper(mutant_plan(), mutant.wrapper)
    assert str(finding) == (
        "wrapper.client.identify-before-event [app 'Signed In']: signed_in(user_id='plan-check-user', "
        "method='password') [all properties, user_id='plan-check-user']: identified the user after "
        "tracking the event, which is sent as whoever was current before; recorded "
        "[track('Signed In', {'Method': 'password'}), identify('plan-check-user', {})]")  # fmt: skip
    assert finding.to_json()["rule"] == "wrapper.client.identify-before-event"


def test_an_omitted_optional_property_sent_as_none_counts_as_left_out() -> None:
    """A wrapper that sends None for an optional property it was not given is not blamed for it."""
    plan = parse_plan({"version": 1, "name": "p", "sources": [{"name": "app", "platform": "client"}],
                       "events": [{"name": "Viewed", "sources": ["app"], "actions": ["LogEvent"],
                                   "properties": [{"name": "Ref", "type": "string", "required": False}]}]})  # fmt: skip

    class Client:
        def __init__(self, sdk: Any) -> None:
            self.sdk = sdk

        def viewed(self, *, ref: str | None = None) -> None:
            self.sdk.track("Viewed", {"Ref": ref})

    assert check_wrapper(plan, types.SimpleNamespace(SOURCE="app", ClientTracking=Client)) == []


def test_a_wrapper_loads_from_a_file_path(tmp_path: Path) -> None:
    """load_wrapper imports a .py file by path, which need not be on sys.path."""
    path = tmp_path / "my_tracking.py"
    path.write_text(generate(load_plan(EXAMPLE))["web.py"])
    assert load_wrapper(str(path)).SOURCE == "web"


def test_a_wrapper_loads_by_module_name() -> None:
    """load_wrapper imports an importable module by its dotted name."""
    assert load_wrapper("conformance.plans.mutants").__name__ == "conformance.plans.mutants"


@pytest.mark.parametrize(("text", "match"), [
    (None, r"wrapper '.*gone\.py' is not a file"),
    ("raise RuntimeError('broken')\n", r"importing wrapper '.*' raised RuntimeError: broken"),
])  # fmt: skip
def test_a_wrapper_that_cannot_load_is_bad_input(tmp_path: Path, text: str | None, match: str) -> None:
    """A missing wrapper file, or one that raises on import, is InvalidInputError naming it."""
    path = tmp_path / "gone.py"
    if text is not None:
        path.write_text(text)
    with pytest.raises(InvalidInputError, match=match):
        load_wrapper(str(path))


def test_an_unknown_module_name_is_bad_input() -> None:
    """A module name that cannot be imported is InvalidInputError naming it."""
    with pytest.raises(InvalidInputError, match=r"cannot import wrapper 'no_such_tracking_module'"):
        load_wrapper("no_such_tracking_module")


@pytest.mark.parametrize("source", [None, "mobile", 3])
def test_a_wrapper_must_name_a_plan_source(source: object) -> None:
    """A wrapper whose SOURCE is missing or names no plan source is InvalidInputError listing the sources."""
    with pytest.raises(InvalidInputError, match=r"which is not a source of plan 'Wrapper mutants'.*'app', 'api'"):
        wrapper_source(mutant_plan(), types.SimpleNamespace(SOURCE=source))


def test_the_example_runs_clean_end_to_end_over_the_reference_sdk() -> None:
    """Every example event, sent through the generated modules over the reference adapter, arrives as the plan says."""
    wrappers = [load_wrapper(str(GENERATED / f"{n}.py")) for n in ("web", "backend", "worker")]
    assert check_end_to_end(load_plan(EXAMPLE), wrappers, load_adapter("reference")) == ([], [])


def _mutant(name: str) -> Any:
    return next(m for m in MUTANTS if m.name == name).wrapper


@pytest.mark.parametrize(("wrapper", "adapter", "rules"), [
    # identified after the event: the identify arrives late, and the event went out anonymous
    (_mutant("identify-after-event"), "reference",
     {"wrapper.e2e.identify-arrived-first", "wrapper.e2e.event-carries-user"}),
    (_mutant("client-renames-property"), "reference", {"wrapper.e2e.event-arrived"}),
    (CORRECT[0], "mutant-identify-not-stamped", {"wrapper.e2e.event-carries-user"}),
    (CORRECT[1], "mutant-server-drops-anonymous-id", {"wrapper.e2e.server-ids"}),
], ids=["identify-after-event", "renamed-property", "sdk-forgets-user", "sdk-drops-anonymous-id"])  # fmt: skip
def test_end_to_end_catches_what_arrives_wrong(wrapper: Any, adapter: str, rules: set[str]) -> None:
    """A faulty wrapper over the reference SDK, or a correct one over a faulty SDK, is found from what reached the collector."""
    findings, skipped = check_end_to_end(mutant_plan(), [wrapper], load_adapter(adapter))
    assert {f.rule for f in findings} == rules, [str(f) for f in findings]
    assert skipped == []


def test_end_to_end_checks_the_identify_a_server_sends() -> None:
    """Over an SDK that swaps the ids of a server identify, the user-properties event's identify is found."""
    wrappers = [load_wrapper(str(GENERATED / "backend.py"))]
    findings, _ = check_end_to_end(load_plan(EXAMPLE), wrappers, load_adapter("mutant-server-swaps-ids"))
    assert [(f.rule, f.event) for f in findings] == [("wrapper.e2e.server-ids", "Signed Up")]
    assert "the identify arrived without the user 'plan-check-user'" in findings[0].message


def test_every_end_to_end_rule_is_proved_by_a_fault() -> None:
    """Each end-to-end rule is caught by one of the tests above."""
    assert set(E2E_RULES) == {"wrapper.e2e.identify-arrived-first", "wrapper.e2e.event-arrived",
                              "wrapper.e2e.event-carries-user", "wrapper.e2e.server-ids"}  # fmt: skip


def test_docs_list_every_rule_with_its_statement() -> None:
    """docs/plans.md has a table row for every rule, saying what RULES and E2E_RULES say."""
    docs = (ROOT / "docs" / "plans.md").read_text()
    for rule, statement in {**RULES, **E2E_RULES}.items():
        assert f"| `{rule}` | {statement} |" in docs, rule


def test_an_sdk_that_fails_end_to_end_is_an_adapter_error() -> None:
    """An adapter whose flush raises is AdapterFailedError naming the call, not a wrapper finding."""
    from conformance._errors import AdapterFailedError
    from conformance.adapters.reference import ReferenceAdapter

    class FailingFlush(ReferenceAdapter):
        def flush(self) -> None:
            raise OSError("disk full")

    with pytest.raises(AdapterFailedError, match=r"flush\(\) raised OSError: disk full"):
        check_end_to_end(mutant_plan(), [CORRECT[0]], FailingFlush)
