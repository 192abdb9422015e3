"""The engine: build the adapter once, run each applicable machine, emit events, decide verdicts."""

from __future__ import annotations

import datetime as dt
import json
import platform
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs
import hypothesis
from hypothesis import HealthCheck, settings
from hypothesis.errors import Flaky

from conformance._errors import (
    AdapterAbortedError,
    AdapterFailedError,
    InvalidAdapterError,
    InvalidInputError,
    RunInterruptedError,
    describe,
)
from conformance._requirements import REQUIREMENTS, Level
from conformance._violations import ConformanceFailure, Violation
from conformance.adapters.protocol import CAPABILITIES, Adapter, AdapterFactory, AdapterInfo
from conformance.collector.store import Collector
from conformance.engine.events import (
    AdapterErrored,
    Handler,
    MachineFinished,
    ProgressReported,
    RequirementResult,
    RunFinished,
    RunStarted,
    Verdict,
    ViolationFound,
)
from conformance.engine.expected import ExpectedFailure
from conformance.engine.harness import Harness, call_with_timeout
from conformance.machines import build_machines, requirement_applies, run_machine
from simulator import get_profile

if TYPE_CHECKING:
    from hypothesis.stateful import RuleBasedStateMachine

MAX_ROUNDS = 8
"""After a failure, the machine is rerun ignoring what was found, to find the next rule broken."""
PROGRESS_EVERY = 500
MIN_STEP_TIMEOUT = 0.01
"""Below this, an ordinary call would time out: a typo, not a setting."""
MAX_STEP_TIMEOUT = 86_400.0
"""One day: the timer's limit is far above, but a longer hang is no use to anyone."""


@attrs.frozen
class RunSettings:
    """How hard to look, and how to keep the run reproducible."""

    max_examples: int = 60
    step_count: int = 25
    seed: int | None = None
    step_timeout: float = 10.0

    def __attrs_post_init__(self) -> None:
        for name in ("max_examples", "step_count"):
            value = getattr(self, name)
            if type(value) is not int or value < 1:
                msg = f"{name} must be a positive int (got {describe(value)}). Pass e.g. {name}=50."
                raise InvalidInputError(msg)
        timeout = self.step_timeout
        if type(timeout) not in (int, float) or not 0 < timeout < float("inf"):
            msg = (f"step_timeout must be a positive number of seconds (got {describe(timeout)}). "
                   "Pass e.g. step_timeout=10.0.")  # fmt: skip
            raise InvalidInputError(msg)
        if not MIN_STEP_TIMEOUT <= timeout <= MAX_STEP_TIMEOUT:
            msg = (f"step_timeout must be between {MIN_STEP_TIMEOUT:g} and {MAX_STEP_TIMEOUT:g} "
                   f"seconds (got {describe(timeout)}). Pass e.g. step_timeout=10.0.")  # fmt: skip
            raise InvalidInputError(msg)
        if self.seed is not None and type(self.seed) is not int:
            msg = f"seed must be an int or None (got {describe(self.seed)}). Pass e.g. seed=1234."
            raise InvalidInputError(msg)

    def hypothesis_settings(self) -> settings:
        """Derandomized unless a seed is given, so CI verdicts are the same every time."""
        return settings(
            max_examples=self.max_examples,
            stateful_step_count=self.step_count,
            deadline=None,
            derandomize=self.seed is None,
            database=None,
            print_blob=False,
            report_multiple_bugs=False,
            suppress_health_check=list(HealthCheck),
        )

    def to_json(self) -> dict[str, Any]:
        """For report provenance."""
        return attrs.asdict(self)


def check_adapter(adapter: object, factory: object) -> Adapter:
    """Raise :class:`InvalidAdapterError` unless ``adapter`` looks like an Adapter."""
    info = getattr(adapter, "info", None)
    missing = [m for m in ("open_client", "track", "identify", "flush", "shutdown")
               if not callable(getattr(adapter, m, None))]  # fmt: skip
    if info is None or missing:
        msg = (
            f"adapter factory {describe(factory)} returned {describe(adapter)}, which is not an "
            f"Adapter (missing: {', '.join(missing) or 'info'}). Return an object with `info` "
            "and the operations of conformance.Adapter."
        )
        raise InvalidAdapterError(msg)
    check_capabilities(info)
    return adapter  # type: ignore[return-value]


def check_capabilities(info: object) -> None:
    """Raise :class:`InvalidAdapterError` for a capability name the suite does not know."""
    import difflib  # noqa: PLC0415

    capabilities: object = getattr(info, "capabilities", frozenset())
    if not isinstance(capabilities, (set, frozenset)):
        msg = (f"adapter info.capabilities must be a frozenset of names (got "
               f"{describe(capabilities)}). Known: {', '.join(sorted(CAPABILITIES))}.")  # fmt: skip
        raise InvalidAdapterError(msg)
    for name in sorted(capabilities, key=str):
        if name not in CAPABILITIES:
            close = difflib.get_close_matches(str(name), sorted(CAPABILITIES), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            msg = (f"adapter declares unknown capability {describe(name)}.{hint} Known "
                   f"capabilities: {', '.join(sorted(CAPABILITIES))}.")  # fmt: skip
            raise InvalidAdapterError(msg)


def run(
    adapter_factory: AdapterFactory,
    *,
    profile: str | None = None,
    run_settings: RunSettings | None = None,
    expected_failures: Sequence[ExpectedFailure] = (),
    handlers: Iterable[Handler] = (),
    collector: Collector | None = None,
    stop_on: frozenset[str] = frozenset(),
    require_all: bool = False,
) -> RunFinished:
    """Run every applicable machine against the adapter and return the verdicts.

    ``stop_on``: stop looking as soon as one of these requirements fails (the mutant
    sweep uses it; requirements not reached then report ERROR "never exercised").
    ``require_all``: a skipped MUST requirement fails the run (exit code 1).
    """
    if not callable(adapter_factory):
        msg = (
            f"adapter_factory must be a callable taking a Collector (got "
            f"{describe(adapter_factory)}). Pass the class itself: run(AcmeAdapter)."
        )
        raise InvalidAdapterError(msg)
    run_settings = run_settings or RunSettings()
    handlers = list(handlers)
    for handler in handlers:
        handler.start()
    try:
        return _run(adapter_factory, profile, run_settings, expected_failures, handlers, collector,
                    stop_on, require_all=require_all)
    finally:
        for handler in handlers:
            handler.shutdown()


def _run(
    factory: AdapterFactory,
    profile_name: str | None,
    run_settings: RunSettings,
    expected_failures: Sequence[ExpectedFailure],
    handlers: list[Handler],
    collector: Collector | None,
    stop_on: frozenset[str] = frozenset(),
    *,
    require_all: bool = False,
) -> RunFinished:
    started = time.perf_counter()

    def emit(event: Any) -> None:
        for handler in handlers:
            handler.handle_event(event)

    collector = collector or Collector()
    adapter, info = _build_adapter(factory, collector, run_settings.step_timeout)
    profile = get_profile(profile_name or info.profile)
    harness = Harness(adapter, collector, profile, step_timeout=run_settings.step_timeout,
                      info_cache=info)  # fmt: skip
    emit(RunStarted(info, profile.name, run_settings.to_json(), _now()))

    findings: dict[str, tuple[Violation, ...]] = {}
    # Declared failures are recorded but never raised, so no time goes into shrinking them.
    declared = frozenset(x.requirement for x in expected_failures)
    evidence: dict[str, tuple[str, dict[str, Any]]] = {}
    errors: dict[str, str] = {}
    try:
        with harness.alarms():  # one SIGALRM handler for the whole run
            for machine in build_machines(harness):
                if stop_on & set(findings):
                    break
                name = machine.machine_name
                last_progress = [0]

                def progress(rule: str, name: str = name, last: list[int] = last_progress) -> None:
                    del rule
                    if harness.steps - last[0] >= PROGRESS_EVERY:
                        last[0] = harness.steps
                        emit(ProgressReported(name, harness.steps, harness.examples))

                harness.on_step = progress
                steps_before, examples_before = harness.steps, harness.examples
                try:
                    error = _run_machine(machine, name, harness, run_settings, findings, evidence,
                                         emit, stop_on, declared)  # fmt: skip
                except RunInterruptedError as exc:
                    errors[name] = errors["interrupted"] = str(exc)
                    break
                if error is not None:
                    errors[name] = error
                emit(MachineFinished(name, harness.steps - steps_before,
                                     harness.examples - examples_before, dict(harness.rule_counts)))  # fmt: skip
    finally:
        adapter_shutdown_error = _shutdown(harness)
    if adapter_shutdown_error:
        errors["shutdown"] = adapter_shutdown_error
    results = _verdicts(harness, findings, evidence, errors, expected_failures)
    exit_code = _exit_code(results, require_all=require_all)
    finished = RunFinished(
        info=adapter.info,
        profile=profile.name,
        results=tuple(results),
        exit_code=exit_code,
        seconds=round(time.perf_counter() - started, 3),
        provenance=_provenance(adapter, profile.name, run_settings),
        rule_counts=dict(harness.rule_counts),
        warnings=_warnings(results, require_all=require_all),
    )
    emit(finished)
    return finished


def _build_adapter(factory: AdapterFactory, collector: Collector, timeout: float
                   ) -> tuple[Adapter, AdapterInfo]:  # fmt: skip
    """Call the factory and read ``info``, each under the step timeout."""
    what = f"adapter factory {describe(factory)}"
    try:
        built = call_with_timeout(what, lambda: factory(collector), timeout)
        info = call_with_timeout(f"the info of {describe(built)}",
                                 lambda: getattr(built, "info", None), timeout)  # fmt: skip
    except AdapterAbortedError as exc:
        raise AdapterFailedError(str(exc)) from None
    except InvalidAdapterError:
        raise
    except BaseException as exc:
        if isinstance(exc, KeyboardInterrupt):
            raise
        msg = f"{what} raised {type(exc).__name__}: {exc}"
        raise AdapterFailedError(msg) from exc
    adapter = check_adapter(built, factory)
    if not isinstance(info, AdapterInfo):
        msg = (f"adapter info must be a conformance.AdapterInfo (got {describe(info)}). Build it "
               "with AdapterInfo(name=..., kind=AdapterKind.SERVER, profile=..., ...).")  # fmt: skip
        raise InvalidAdapterError(msg)
    return adapter, info


def _run_machine(
    machine: type[RuleBasedStateMachine],
    name: str,
    harness: Harness,
    run_settings: RunSettings,
    findings: dict[str, tuple[Violation, ...]],
    evidence: dict[str, tuple[str, dict[str, Any]]],
    emit: Callable[[Any], None],
    stop_on: frozenset[str] = frozenset(),
    declared: frozenset[str] = frozenset(),
) -> str | None:
    found: set[str] = set()
    started = time.perf_counter()
    for _ in range(MAX_ROUNDS):
        harness.ignore = frozenset(found) | declared
        harness.first_failure_example = None
        harness.first_failing_trace = None
        harness.last_adapter_error = ""
        try:
            run_machine(machine, run_settings.hypothesis_settings(), run_settings.seed)
        except ConformanceFailure as failure:
            new = {v.requirement for v in failure.violations} - found
            if not new:
                return None
            trace = _trace(harness, name)
            reproducer = render_reproducer(trace, sorted(new))
            for requirement in sorted(new):
                mine = tuple(v for v in failure.violations if v.requirement == requirement)
                findings[requirement] = mine
                evidence[requirement] = (reproducer, trace)
            found |= new
            emit(ViolationFound(name, tuple(failure.violations), reproducer, trace,
                                examples=harness.detection_example(),
                                seconds=round(time.perf_counter() - started, 3)))
            if stop_on & found:
                return None
        except (AdapterFailedError, AdapterAbortedError) as exc:
            trace = _current_trace(harness, name)
            reproducer = render_reproducer(trace, [])
            emit(AdapterErrored(name, str(exc), reproducer, trace))
            if isinstance(exc, RunInterruptedError):
                raise
            return str(exc)
        except Flaky as exc:
            return _flaky(exc, name, harness, findings, evidence, found, emit)
        else:
            return None
    return None


def _flaky(
    exc: Flaky,
    name: str,
    harness: Harness,
    findings: dict[str, tuple[Violation, ...]],
    evidence: dict[str, tuple[str, dict[str, Any]]],
    found: set[str],
    emit: Callable[[Any], None],
) -> str | None:
    """A failure that did not happen again when Hypothesis replayed its example: a finding.

    A violation seen once is a FAIL of its requirement; an adapter error seen once is an
    ERROR of the machine. Either way the reason says it did not reproduce.
    """
    note = ("happened once and did not happen again when Hypothesis replayed the same "
            "example (state carried across examples, a race, or a one-off failure)")  # fmt: skip
    inner = list(getattr(exc, "exceptions", ()))
    error = next((e for e in inner if isinstance(e, (AdapterFailedError, AdapterAbortedError))), None)
    violations = [v for e in inner if isinstance(e, ConformanceFailure) for v in e.violations]
    violations += [v for v in harness.found.values() if v.requirement not in found]
    trace = _trace(harness, name)
    if harness.first_failing_trace is not None:
        trace = {**trace, "machine": name, "steps": harness.first_failing_trace}
    for violation in violations:
        if violation.requirement in found or violation.requirement in findings:
            continue
        flaky = attrs.evolve(violation, message=f"{violation.message} [flaky: {note}]")
        findings[flaky.requirement] = (flaky,)
        evidence[flaky.requirement] = (render_reproducer(trace, [flaky.requirement]), trace)
    if violations:
        emit(ViolationFound(name, tuple(violations), render_reproducer(trace, []), trace,
                            examples=harness.detection_example()))  # fmt: skip
    if error is not None or harness.last_adapter_error or not violations:
        cause = (str(error) if error is not None
                 else harness.last_adapter_error or f"{type(exc).__name__}: {exc}")  # fmt: skip
        message = f"flaky: {cause} ({note})"
        emit(AdapterErrored(name, message, render_reproducer(trace, []), trace))
        return message
    return None


def _current_trace(harness: Harness, machine: str) -> dict[str, Any]:
    """The trace of the example running when an adapter call failed or hung."""
    current = harness.current
    steps = current._trace_as_called() if current is not None else []  # noqa: SLF001
    return {**_trace(harness, machine), "machine": machine, "steps": steps}


def _trace(harness: Harness, machine: str) -> dict[str, Any]:
    info = harness.info
    return {
        "format": "identity-conformance-trace/1",
        "adapter": info.name,
        "profile": harness.profile.name,
        "machine": harness.last_failing_machine or machine,
        "steps": harness.last_failing_trace or [],
    }


def render_reproducer(trace: dict[str, Any], requirements: Sequence[str]) -> str:
    """A copy-pasteable Python program that replays ``trace`` and reports the violations."""
    steps = ",\n".join(f"        ({s['rule']!r}, {s['args']!r})" for s in trace["steps"])
    header = f"# Reproduces: {', '.join(requirements)}" if requirements else "# Reproduces an adapter error"
    return (
        f"{header}\n"
        "from conformance import replay\n\n"
        "violations = replay(\n"
        f"    adapter={trace['adapter']!r},\n"
        f"    profile={trace['profile']!r},\n"
        f"    machine={trace['machine']!r},\n"
        "    steps=[\n"
        f"{steps}{',' if steps else ''}\n"
        "    ],\n"
        ")\n"
        "for violation in violations:\n"
        "    print(violation, end='\\n\\n')\n"
    )


def _shutdown(harness: Harness) -> str | None:
    try:
        harness.call("shutdown()", harness.adapter.shutdown)
    except (AdapterFailedError, AdapterAbortedError) as exc:
        return str(exc)
    finally:
        harness.close()
    return None


def _verdicts(
    harness: Harness,
    findings: dict[str, tuple[Violation, ...]],
    evidence: dict[str, tuple[str, dict[str, Any]]],
    errors: dict[str, str],
    expected_failures: Sequence[ExpectedFailure],
) -> list[RequirementResult]:
    expected = {x.requirement: x for x in expected_failures}
    seen: dict[str, list[Violation]] = {}
    for violation in harness.found.values():
        seen.setdefault(violation.requirement, []).append(violation)
    for requirement_id, violations in seen.items():
        findings.setdefault(requirement_id, tuple(violations[:5]))
    results = []
    for requirement in REQUIREMENTS:
        skip = requirement_applies(requirement.id, requirement.capability, harness)
        checks = harness.checks[requirement.id]
        reproducer, trace = evidence.get(requirement.id, (None, None))
        if skip is not None:
            verdict, reason = Verdict.SKIP, skip
        elif requirement.id in findings:
            verdict, reason = Verdict.FAIL, str(findings[requirement.id][0].message)
        elif (error := errors.get("interrupted") or errors.get(requirement.scope.value)
              or errors.get("shutdown")):
            verdict, reason = Verdict.ERROR, error
        elif requirement.scope.value == "delivery" and errors:
            verdict, reason = Verdict.ERROR, next(iter(errors.values()))
        elif checks == 0:
            verdict = Verdict.ERROR
            reason = "never exercised: no generated step reached a check of this requirement"
        else:
            verdict, reason = Verdict.PASS, ""
        declared = expected.get(requirement.id)
        if declared is not None and verdict is Verdict.FAIL:
            verdict, reason = Verdict.XFAIL, f"expected failure: {declared.reason}"
            reproducer = reproducer or declared.reproducer or None
        elif declared is not None and verdict is Verdict.PASS:
            verdict = Verdict.XPASS
            reason = f"declared as an expected failure ({declared.reason}) but passed"
        elif declared is not None and verdict is Verdict.SKIP:
            verdict = Verdict.XPASS  # stale: a declaration for a rule that cannot fail here
            reason = (f"declared as an expected failure ({declared.reason}) but skipped ({reason}): "
                      "remove the entry or declare the capability")  # fmt: skip
        results.append(RequirementResult(
            requirement=requirement.id, level=requirement.level.value, verdict=verdict,
            reason=reason, checks=checks, violations=findings.get(requirement.id, ()),
            reproducer=reproducer, trace=trace,
        ))  # fmt: skip
    return results


def _exit_code(results: Sequence[RequirementResult], *, require_all: bool = False) -> int:
    for result in results:
        if require_all and _skipped_must(result):
            return 1
        if result.verdict in (Verdict.ERROR, Verdict.XPASS):
            return 1
        if result.verdict is Verdict.FAIL and result.level == Level.MUST.value:
            return 1
    return 0


_KIND_SKIP = " SDK"
"""How a skip reason for the other half of the seed ends ("... is a server SDK")."""


def _skipped_must(result: RequirementResult) -> bool:
    """A MUST requirement skipped for a missing capability or profile (not for the SDK's kind)."""
    return (result.verdict is Verdict.SKIP and result.level == Level.MUST.value
            and not result.reason.endswith(_KIND_SKIP))


def _warnings(results: Sequence[RequirementResult], *, require_all: bool) -> tuple[str, ...]:
    """Headline warnings: a run that skipped most of the suite must not read as a clean pass."""
    skipped = [r for r in results if r.verdict is Verdict.SKIP]
    by_kind = sum(r.reason.endswith(_KIND_SKIP) for r in skipped)
    out = []
    if len(skipped) * 2 > len(results):
        out.append(
            f"{len(skipped)} of {len(results)} requirements were skipped ({by_kind} for the "
            f"SDK's kind, {len(skipped) - by_kind} for undeclared capabilities or the profile): "
            "a pass covers only the rest. Declare every capability the SDK has; pass "
            "--require-all to fail on a skipped MUST requirement."
        )
    must = [r.requirement for r in results if _skipped_must(r)]
    if require_all and must:
        out.append(f"require_all: {len(must)} MUST requirement(s) skipped: {', '.join(must)}")
    return tuple(out)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _provenance(adapter: Adapter, profile: str, run_settings: RunSettings) -> dict[str, Any]:
    info = adapter.info
    return {
        "tool": "identity-conformance",
        "tool_version": _version(),
        "hypothesis_version": hypothesis.__version__,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "datetime": _now(),
        "adapter": info.name,
        "sdk_name": info.sdk_name,
        "sdk_version": info.sdk_version,
        "profile": profile,
        "settings": run_settings.to_json(),
    }


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("identity-conformance")
    except PackageNotFoundError:
        return "0+unknown"


def load_trace(path: str | Path) -> dict[str, Any]:
    """Read a JSON trace written on a failure; raise naming what is wrong with it."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        msg = f"cannot read trace {str(path)!r}: {exc}. Pass a trace JSON file written by `run --report-dir`."
        raise InvalidInputError(msg) from exc
    if not isinstance(data, dict) or data.get("format") != "identity-conformance-trace/1":
        msg = (
            f"{str(path)!r} is not an identity-conformance trace (got {describe(data)[:120]}). "
            "Pass a file from the traces/ folder of a report directory."
        )
        raise InvalidInputError(msg)
    return data
