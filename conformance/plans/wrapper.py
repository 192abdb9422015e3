"""Checking a tracking-function wrapper against a plan: its signatures, then its behaviour.

A wrapper is a module (or any object) with ``SOURCE``, the name of the plan source it
implements, and the class for that source: ``ClientTracking`` or ``ServerTracking``, built
from the SDK object alone (``ClientTracking(session)``), with one method per event of the
source named by the event in snake_case (``'Signed In'`` gives ``signed_in``). The modules
:mod:`conformance.plans.generate` writes are wrappers; so may a team's own code be.

:func:`check_wrapper` reads each function's signature with :mod:`inspect`, then calls each
function whose signature is right on a recording fake SDK
(:mod:`conformance.plans.recording`) and compares the calls it made with the plan's. Each
difference is a :class:`Finding` under a stable rule id from :data:`RULES`.
Slightly over 400 lines: the signature and behaviour checks share the plan walk and the
finding wording.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import re
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from types import ModuleType
from typing import Any

import attrs

from conformance._errors import InvalidInputError, describe
from conformance.plans.model import Action, Event, Plan, Property, PropertyType, Source
from conformance.plans.recording import Call, RecordingClient, RecordingServer

USER = "plan-check-user"
"""The user id the checks pass."""
ANONYMOUS = "plan-check-anonymous"
"""The anonymous id the checks pass to server functions that take one."""

RULES = {
    "wrapper.module.class": "The wrapper defines ClientTracking (client source) or ServerTracking (server source), built from the SDK object alone.",
    "wrapper.function.missing": "Every event of the source has a function, named by the event in snake_case.",
    "wrapper.signature.property-missing": "Every declared property is a parameter of its event's function.",
    "wrapper.signature.property-keyword-only": "Every property is a keyword-only parameter.",
    "wrapper.signature.property-required": "A required property has no default; an optional one has a default.",
    "wrapper.signature.undeclared-parameter": "A function takes only its properties and the identity parameters the plan gives it.",
    "wrapper.client.identify-requires-user-id": "A client function for an event with the Identify action requires a keyword user_id.",
    "wrapper.client.no-anonymous-id": "No client function takes an anonymous id: the client SDK owns it.",
    "wrapper.server.requires-user-id": "Every server function requires a keyword user_id.",
    "wrapper.server.anonymous-user-id-optional": "Where the source enables it, a server function takes an optional anonymous_user_id.",
    "wrapper.server.no-anonymous-user-id": "Where the source does not enable it, a server function takes no anonymous_user_id.",
    "wrapper.call.raised": "A call with valid arguments returns without raising.",
    "wrapper.event.logged": "A LogEvent event is tracked once, under its plan name; other events are not tracked.",
    "wrapper.event.properties": "The event carries exactly the properties passed, under their plan names.",
    "wrapper.user-properties": "UpdateUserProperties sends exactly the user properties passed, as identify traits.",
    "wrapper.calls.match": "The function makes exactly the SDK calls its actions call for, in Avo's order.",
    "wrapper.client.identify-before-event": "A client Identify event identifies the user before the event is tracked.",
    "wrapper.client.identify-user-id": "A client Identify event identifies the user_id it was passed.",
    "wrapper.client.refuses-missing-user-id": "A client Identify function called with user_id=None raises and calls nothing.",
    "wrapper.client.unidentify-is-reset": "Unidentify calls reset(), never identify(None).",
    "wrapper.client.unidentify-after-event": "Unidentify resets after the event is tracked, not before.",
    "wrapper.server.ids-passed-through": "A server function passes user_id and anonymous_user_id through exactly, to every call.",
    "wrapper.server.identify-before-event": "A server UpdateUserProperties event sends its identify before the event.",
    "wrapper.server.refuses-no-ids": "A server function called with neither id raises and calls nothing.",
}
"""Every rule a finding may name, with what it requires (docs/plans.md lists them)."""


@attrs.frozen
class Finding:
    """One way a wrapper differs from the plan: the rule, where, and what happened."""

    rule: str
    source: str
    event: str | None
    message: str

    def __str__(self) -> str:
        """``rule [source 'event']: message``."""
        where = self.source if self.event is None else f"{self.source} {self.event!r}"
        return f"{self.rule} [{where}]: {self.message}"

    def to_json(self) -> dict[str, Any]:
        """The finding as JSON."""
        return attrs.asdict(self)


def load_wrapper(spec: str) -> ModuleType:
    """Import the wrapper ``spec`` names: a ``.py`` file path, or an importable module name."""
    path = Path(spec)
    if spec.endswith(".py") or path.is_file():
        if not path.is_file():
            msg = f"wrapper {spec!r} is not a file. Pass a .py file or an importable module name."
            raise InvalidInputError(msg)
        name = "_plan_wrapper_" + re.sub(r"\W", "_", str(path.resolve()))
        module_spec = importlib.util.spec_from_file_location(name, path)
        if module_spec is None or module_spec.loader is None:
            msg = f"cannot load wrapper {spec!r} as a Python module. Pass a .py file."
            raise InvalidInputError(msg)
        module = importlib.util.module_from_spec(module_spec)
        sys.modules[name] = module  # dataclasses and typing look a module up here
        try:
            module_spec.loader.exec_module(module)
        except Exception as exc:
            sys.modules.pop(name, None)
            msg = f"importing wrapper {spec!r} raised {type(exc).__name__}: {exc}. Fix the module."
            raise InvalidInputError(msg) from exc
        return module
    try:
        return importlib.import_module(spec)
    except Exception as exc:
        msg = (f"cannot import wrapper {spec!r}: {type(exc).__name__}: {exc}. Pass a .py file "
               "or a module name importable here.")  # fmt: skip
        raise InvalidInputError(msg) from exc


def wrapper_source(plan: Plan, wrapper: object, label: str = "the wrapper") -> Source:
    """The plan source ``wrapper`` implements, by its ``SOURCE``; refuse one naming none."""
    name = getattr(wrapper, "SOURCE", None)
    names = ", ".join(repr(s.name) for s in plan.sources)
    if not isinstance(name, str) or name not in {s.name for s in plan.sources}:
        msg = (f"{label} sets SOURCE to {describe(name)}, which is not a source of plan "
               f"{plan.name!r}. Set SOURCE to the source it implements: one of {names}.")  # fmt: skip
        raise InvalidInputError(msg)
    return plan.source(name)


def check_wrapper(plan: Plan, wrapper: object, label: str = "the wrapper") -> list[Finding]:
    """Every finding for ``wrapper`` against ``plan``: signatures first, then behaviour."""
    source = wrapper_source(plan, wrapper, label)
    factory = getattr(wrapper, source.class_name, None)
    if not callable(factory):
        return [_finding("wrapper.module.class", source, None,
                         f"{label} defines no {source.class_name} (got {describe(factory)}); "
                         f"source {source.name!r} is a {source.platform.value} source")]  # fmt: skip
    findings: list[Finding] = []
    for event in plan.events_for(source):
        function = _function(factory, source, event, findings)
        if function is None:
            continue
        found = _signature_findings(event, source, function)
        findings += found
        if not found:  # behaviour is checked on a signature that states the plan
            findings += _behaviour_findings(factory, event, source)
    return findings


def _finding(rule: str, source: Source, event: Event | None, message: str) -> Finding:
    assert rule in RULES, rule
    return Finding(rule, source.name, None if event is None else event.name, message)


def _function(factory: Callable[[Any], Any], source: Source, event: Event,
              findings: list[Finding]) -> Callable[..., Any] | None:  # fmt: skip
    fake = RecordingClient() if source.is_client else RecordingServer()
    try:
        tracking = factory(fake)
    except Exception as exc:  # noqa: BLE001  (a wrapper's failure is a finding)
        findings.append(_finding("wrapper.module.class", source, None,
                                 f"{source.class_name}(sdk) raised {type(exc).__name__}: {exc}"))  # fmt: skip
        return None
    function = getattr(tracking, event.function, None)
    if not callable(function):
        findings.append(_finding("wrapper.function.missing", source, event,
                                 f"{source.class_name} has no function {event.function}() (got {describe(function)})"))  # fmt: skip
        return None
    return function  # type: ignore[no-any-return]


_KEYWORD = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)


def _anonymous_like(name: str) -> bool:
    flat = name.lower().replace("_", "")
    return "anon" in flat or flat in {"deviceid", "distinctid"}


def _signature_findings(event: Event, source: Source, function: Callable[..., Any]) -> list[Finding]:
    def found(rule: str, message: str) -> None:
        out.append(_finding(rule, source, event, f"{event.function}(): {message}"))

    out: list[Finding] = []
    try:
        params = inspect.signature(function).parameters
    except (TypeError, ValueError) as exc:
        found("wrapper.signature.undeclared-parameter", f"its signature cannot be read ({exc})")
        return out
    declared = {p.parameter: p for p in event.parameters}
    identity = {"user_id"} if (not source.is_client or event.has(Action.IDENTIFY)) else set()
    if source.anonymous_user_id:
        identity.add("anonymous_user_id")
    for name, param in params.items():
        if name in declared or name in identity:
            continue
        if source.is_client and _anonymous_like(name):
            found("wrapper.client.no-anonymous-id", f"takes {name!r}, an anonymous id; the client SDK owns that id")
        elif name == "anonymous_user_id":
            found("wrapper.server.no-anonymous-user-id",
                  f"takes 'anonymous_user_id', but source {source.name!r} does not enable it")  # fmt: skip
        elif name == "user_id":
            found("wrapper.signature.undeclared-parameter",
                  "takes 'user_id', but the event has no Identify action: a client SDK keeps the user")  # fmt: skip
        else:
            found("wrapper.signature.undeclared-parameter", f"takes {param}, which the plan does not declare")
    user = params.get("user_id")
    if "user_id" in identity and (user is None or user.kind not in _KEYWORD or user.default is not user.empty):
        shown = "no user_id" if user is None else f"the parameter {user}"
        if source.is_client:
            found("wrapper.client.identify-requires-user-id",
                  f"has {shown}; the event has the Identify action, so user_id is a required keyword")  # fmt: skip
        else:
            found("wrapper.server.requires-user-id", f"has {shown}; every server function requires a keyword user_id")
    anonymous = params.get("anonymous_user_id")
    if source.anonymous_user_id and (anonymous is None or anonymous.kind not in _KEYWORD
                                     or anonymous.default is anonymous.empty):  # fmt: skip
        shown = "no anonymous_user_id" if anonymous is None else f"the parameter {anonymous}"
        found("wrapper.server.anonymous-user-id-optional",
              f"has {shown}; source {source.name!r} enables an optional keyword anonymous_user_id")  # fmt: skip
    for parameter, prop in declared.items():
        given = params.get(parameter)
        if given is None:
            found("wrapper.signature.property-missing", f"has no parameter {parameter!r} for the property {prop.name!r}")
        elif given.kind is not inspect.Parameter.KEYWORD_ONLY:
            found("wrapper.signature.property-keyword-only",
                  f"the property parameter {parameter!r} is {given.kind.description}, not keyword-only")  # fmt: skip
        elif (given.default is given.empty) is not prop.required:
            want = "required (no default)" if prop.required else "optional (with a default)"
            found("wrapper.signature.property-required", f"the parameter {given} should be {want}")
    return out


def sample(prop: Property) -> Any:
    """The value the checks pass for ``prop``: its first allowed value, or one of its type."""
    if prop.allowed_values:
        return prop.allowed_values[0]
    return {PropertyType.STRING: f"sample {prop.name}", PropertyType.INT: 42,
            PropertyType.FLOAT: 2.5, PropertyType.BOOL: True}[prop.type]  # fmt: skip


@attrs.frozen
class _Case:
    """One call of a function: its arguments, and the properties and ids it should send."""

    label: str
    kwargs: dict[str, Any]
    properties: dict[str, Any]
    traits: dict[str, Any]
    user_id: str | None
    anonymous_id: str | None
    omitted: frozenset[str]
    """Optional properties not passed: a None under their name counts as left out."""


def _cases(event: Event, source: Source) -> list[_Case]:
    everything = list(event.parameters)
    required = [p for p in everything if p.required]
    prop_sets = [("all properties", everything)]
    if len(required) < len(everything):
        prop_sets.append(("required properties only", required))
    ids: list[tuple[tuple[str | None, str | None], dict[str, str | None]]]
    if source.is_client:
        ids = [((USER, None), {"user_id": USER})] if event.has(Action.IDENTIFY) else [((None, None), {})]
    else:
        ids = [((USER, None), {"user_id": USER})]
        if source.anonymous_user_id:
            ids += [((USER, ANONYMOUS), {"user_id": USER, "anonymous_user_id": ANONYMOUS}),
                    ((None, ANONYMOUS), {"user_id": None, "anonymous_user_id": ANONYMOUS})]  # fmt: skip
    cases = []
    for (user_id, anonymous_id), id_kwargs in ids:
        for label, props in prop_sets:
            if label != "all properties" and (user_id, anonymous_id) != ids[0][0]:
                continue
            given = {p.name for p in props}
            cases.append(_Case(
                label=f"{label}, {', '.join(f'{k}={v!r}' for k, v in id_kwargs.items()) or 'no ids'}",
                kwargs={**id_kwargs, **{p.parameter: sample(p) for p in props}},
                properties={p.name: sample(p) for p in event.properties if p.name in given},
                traits={p.name: sample(p) for p in event.user_properties if p.name in given},
                user_id=user_id, anonymous_id=anonymous_id,
                omitted=frozenset(p.name for p in everything if p.name not in given),
            ))  # fmt: skip
    return cases


def _expected(event: Event, source: Source, case: _Case, *, identify: bool) -> list[Call]:
    server = not source.is_client
    ids = {"user_id": case.user_id, "anonymous_id": case.anonymous_id} if server else {}
    calls = []
    if identify:
        calls.append(Call("identify", traits=case.traits, server=server,
                          **(ids if server else {"user_id": case.user_id})))  # fmt: skip
    if event.has(Action.LOG_EVENT):
        calls.append(Call("track", name=event.name, properties=case.properties, server=server, **ids))
    if source.is_client and event.has(Action.UNIDENTIFY):
        calls.append(Call("reset"))
    return calls


def _dropping_omitted(value: Any, omitted: frozenset[str]) -> Any:
    if not isinstance(value, dict):
        return value
    return {k: v for k, v in value.items() if not (v is None and k in omitted)}


def _behaviour_findings(factory: Callable[[Any], Any], event: Event, source: Source) -> list[Finding]:
    out: list[Finding] = []
    for case in _cases(event, source):
        fake = RecordingClient() if source.is_client else RecordingServer()
        try:
            getattr(factory(fake), event.function)(**case.kwargs)
        except Exception as exc:  # noqa: BLE001  (a wrapper's failure is a finding)
            out.append(_finding("wrapper.call.raised", source, event,
                                f"{event.function}({_shown(case.kwargs)}) raised {type(exc).__name__}: {exc}"))  # fmt: skip
            continue
        calls = [attrs.evolve(c, properties=_dropping_omitted(c.properties, case.omitted),
                              traits=_dropping_omitted(c.traits, case.omitted)) for c in fake.calls]  # fmt: skip
        found = (_client_compare if source.is_client else _server_compare)(event, source, case, calls)
        prefix = f"{event.function}({_shown(case.kwargs)}) [{case.label}]"
        out += [_finding(rule, source, event, f"{prefix}: {message}") for rule, message in found]
    out += _refusal_findings(factory, event, source)
    return out


def _shown(kwargs: dict[str, Any]) -> str:
    return ", ".join(f"{k}={v!r}" for k, v in kwargs.items())


def _recorded(calls: Sequence[Call]) -> str:
    return "[" + ", ".join(map(str, calls)) + "]" if calls else "no calls"


def _client_compare(event: Event, source: Source, case: _Case, calls: list[Call]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    tracks = [i for i, c in enumerate(calls) if c.op == "track"]
    identifies = [i for i, c in enumerate(calls) if c.op == "identify"]
    resets = [i for i, c in enumerate(calls) if c.op == "reset"]
    recorded = _recorded(calls)
    if event.has(Action.IDENTIFY):
        own = [i for i in identifies if calls[i].user_id == case.user_id]
        if not identifies:
            found.append(("wrapper.client.identify-before-event", f"made no identify call; recorded {recorded}"))
        elif not own:
            found.append(("wrapper.client.identify-user-id",
                          f"identified {calls[identifies[0]].user_id!r}, not the user_id passed; recorded {recorded}"))  # fmt: skip
        elif tracks and own[0] > tracks[0]:
            found.append(("wrapper.client.identify-before-event",
                          f"identified the user after tracking the event, which is sent as whoever was "
                          f"current before; recorded {recorded}"))  # fmt: skip
        elif calls[own[0]].traits != case.traits:
            found.append(("wrapper.user-properties", f"sent traits {calls[own[0]].traits!r}, expected {case.traits!r}"))
    if event.has(Action.UNIDENTIFY):
        nulls = [i for i in identifies if calls[i].user_id in {None, ""}]
        if nulls:
            found.append(("wrapper.client.unidentify-is-reset",
                          f"called identify({calls[nulls[0]].user_id!r}, ...) instead of reset(); recorded {recorded}"))  # fmt: skip
        elif not resets:
            found.append(("wrapper.client.unidentify-is-reset", f"made no reset() call; recorded {recorded}"))
        elif tracks and resets[-1] < tracks[-1]:
            found.append(("wrapper.client.unidentify-after-event",
                          f"reset before tracking the event, which is then sent anonymous; recorded {recorded}"))  # fmt: skip
    found += _track_compare(event, case, calls, tracks)
    if not found and calls != _expected(event, source, case, identify=event.has(Action.IDENTIFY)):
        expected = _recorded(_expected(event, source, case, identify=event.has(Action.IDENTIFY)))
        found.append(("wrapper.calls.match", f"expected {expected}; recorded {recorded}"))
    return found


def _track_compare(event: Event, case: _Case, calls: list[Call], tracks: list[int]) -> list[tuple[str, str]]:
    recorded = _recorded(calls)
    if not event.has(Action.LOG_EVENT):
        if tracks:
            return [("wrapper.event.logged", f"the event has no LogEvent action but was tracked; recorded {recorded}")]
        return []
    if len(tracks) != 1 or calls[tracks[0]].name != event.name:
        return [("wrapper.event.logged", f"expected one track({event.name!r}, ...); recorded {recorded}")]
    got = calls[tracks[0]].properties
    if got != case.properties:
        return [("wrapper.event.properties", f"sent properties {got!r}, expected {case.properties!r}")]
    return []


def _server_compare(event: Event, source: Source, case: _Case, calls: list[Call]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    tracks = [i for i, c in enumerate(calls) if c.op == "track"]
    identifies = [i for i, c in enumerate(calls) if c.op == "identify"]
    recorded = _recorded(calls)
    for call in calls:
        if (call.user_id, call.anonymous_id) != (case.user_id, case.anonymous_id):
            found.append(("wrapper.server.ids-passed-through",
                          f"{call.op} got user_id={call.user_id!r}, anonymous_id={call.anonymous_id!r} "
                          f"for a call with user_id={case.user_id!r}, anonymous_user_id={case.anonymous_id!r}"))  # fmt: skip
            break
    if event.identifies_on(source):
        if not identifies:
            found.append(("wrapper.server.identify-before-event",
                          f"made no identify call for the user properties; recorded {recorded}"))  # fmt: skip
        elif tracks and identifies[0] > tracks[0]:
            found.append(("wrapper.server.identify-before-event",
                          f"sent the user properties after the event; recorded {recorded}"))  # fmt: skip
        elif calls[identifies[0]].traits != case.traits:
            found.append(("wrapper.user-properties",
                          f"sent traits {calls[identifies[0]].traits!r}, expected {case.traits!r}"))  # fmt: skip
    found += _track_compare(event, case, calls, tracks)
    # Identify changes nothing on a server; an identify with the call's ids and no traits is allowed.
    allowed = [_expected(event, source, case, identify=event.identifies_on(source))]
    if event.has(Action.IDENTIFY) and not event.identifies_on(source):
        allowed.append(_expected(event, source, case, identify=True))
    if not found and calls not in allowed:
        found.append(("wrapper.calls.match", f"expected {_recorded(allowed[0])}; recorded {recorded}"))
    return found


def _refusal_findings(factory: Callable[[Any], Any], event: Event, source: Source) -> list[Finding]:
    if source.is_client and not event.has(Action.IDENTIFY):
        return []
    kwargs = {"user_id": None, **{p.parameter: sample(p) for p in event.parameters if p.required}}
    rule = "wrapper.client.refuses-missing-user-id" if source.is_client else "wrapper.server.refuses-no-ids"
    fake = RecordingClient() if source.is_client else RecordingServer()
    call = f"{event.function}({_shown(kwargs)})"
    try:
        getattr(factory(fake), event.function)(**kwargs)
    except Exception:  # noqa: BLE001  (refusing is right; any exception refuses)
        if fake.calls:
            return [_finding(rule, source, event, f"{call} raised, but only after calling {_recorded(fake.calls)}")]
        return []
    return [_finding(rule, source, event, f"{call} returned; it must raise, calling nothing. Recorded {_recorded(fake.calls)}")]
