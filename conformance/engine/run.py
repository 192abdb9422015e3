"""The engine: build the adapter once, run each applicable machine, emit events, decide verdicts.

Over 400 lines: the rounds, top-up reruns, value sweep and failure recording share the run's
state (harness, findings, evidence, settings), passed as parameters; splitting them wants a
run-state record first (left for the issue-10 follow-up).
"""

from __future__ import annotations

import datetime as dt
import platform
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

import attrs
import hypothesis
from hypothesis.errors import Flaky

from conformance._errors import (
    AdapterAbortedError,
    AdapterFailedError,
    InvalidAdapterError,
    InvalidInputError,
    RunInterruptedError,
    describe,
)
from conformance._requirements import REQUIREMENTS
from conformance._violations import ConformanceFailure, Violation
from conformance.adapters.protocol import (
    CALL_OPTIONS,
    CAPABILITIES,
    Adapter,
    AdapterFactory,
    AdapterInfo,
)
from conformance.collector.store import Collector
from conformance.engine.events import (
    AdapterErrored,
    Handler,
    MachineFinished,
    ProgressReported,
    RunFinished,
    RunStarted,
    ViolationFound,
)
from conformance.engine.exit_probe import EXIT_REQUIREMENTS, probe_exit
from conformance.engine.expected import ExpectedFailure, parse_reproducer
from conformance.engine.harness import Harness, call_with_timeout
from conformance.engine.minimize import makes_concurrent_calls, minimize, replay_rate
from conformance.engine.settings import RunSettings
from conformance.engine.traces import current_trace, failing_trace, render_reproducer
from conformance.engine.value_sweep import SWEEP_EXAMPLE_STEPS, drawn_rules, sweep_indexes
from conformance.engine.verdicts import decide, exit_code, warnings_for
from conformance.machines import build_machines, requirement_applies, run_machine
from simulator import get_profile

if TYPE_CHECKING:
    from hypothesis.stateful import RuleBasedStateMachine

MAX_ROUNDS = 8
"""After a failure, the machine is rerun ignoring what was found, to find the next rule broken."""
PROGRESS_EVERY = 500
MAX_TOP_UPS = 3
"""Reruns of a machine (each as many examples again, on its own seed) while a requirement it
checks applies to the adapter but no generated step reached its check: generation is random,
and one unlucky draw must not leave a correct SDK with "never exercised" (an ERROR)."""

def check_adapter(adapter: object, factory: object, info: object = None) -> Adapter:
    """Raise :class:`InvalidAdapterError` unless ``adapter`` looks like an Adapter of its kind.

    Every adapter needs ``info``, ``flush`` and ``shutdown``; a client SDK ``open_client``; a
    server SDK ``track`` (and ``identify``, ``alias``, ``track_with_options``, ``identify_with_context``
    only with their capabilities).
    """
    info = getattr(adapter, "info", None) if info is None else info
    kind = getattr(info, "kind", None)
    declared: object = getattr(info, "capabilities", frozenset())
    capabilities = declared if isinstance(declared, (set, frozenset)) else frozenset()
    needed = ["flush", "shutdown"]
    if kind is None or getattr(kind, "client", True):
        needed.append("open_client")
    if kind is None or getattr(kind, "server", True):
        needed += ["track"] + [m for m in ("identify", "alias") if m in capabilities]
        needed += ["exit_program"] if "exit" in capabilities else []
        needed += ["track_with_options"] if capabilities & CALL_OPTIONS.keys() else []
        needed += ["identify_with_context"] if "identify-context" in capabilities else []
        needed += ["track_async"] if "asyncio-tasks" in capabilities else []
    missing = [m for m in needed if not callable(getattr(adapter, m, None))]
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

    declared: object = getattr(info, "capabilities", frozenset())
    capabilities = declared if isinstance(declared, (set, frozenset)) else frozenset()
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
    if "asyncio-tasks" in capabilities and "threads" not in capabilities:
        msg = ("adapter declares 'asyncio-tasks' without 'threads': concurrent tasks are checked under "
               "server.threads.isolated, which 'threads' gates. Declare both (an SDK safe across asyncio "
               "tasks is called from one thread per event loop), or neither.")  # fmt: skip
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


def _run(  # noqa: PLR0915  (the run's phases in order, each one call)
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
                      info_cache=info, adapter_ref=adapter_reference(factory, info))  # fmt: skip
    emit(RunStarted(info, profile.name, run_settings.to_json(), _now()))

    findings: dict[str, tuple[Violation, ...]] = {}
    # Declared failures are recorded but never raised, so no time goes into shrinking them.
    declared = frozenset(x.requirement for x in expected_failures)
    evidence: dict[str, tuple[str, dict[str, Any]]] = {}
    errors: dict[str, str] = {}
    covers: dict[str, frozenset[str]] = {}
    try:
        machines = build_machines(harness)
        covers.update({m.machine_name: m.covers for m in machines})
        with harness.alarms():  # one SIGALRM handler for the whole run
            for machine in machines:
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
                    error = _run_machine_until_exercised(machines, machine, harness, run_settings, findings,
                                                         evidence, emit, stop_on, declared, factory)  # fmt: skip
                except RunInterruptedError as exc:
                    errors[name] = errors["interrupted"] = str(exc)
                    break
                if error is not None:
                    errors[name] = error
                emit(MachineFinished(name, harness.steps - steps_before,
                                     harness.examples - examples_before, dict(harness.rule_counts)))  # fmt: skip
        exit_error = probe_exit(harness, evidence) if not errors else None
    finally:
        try:
            adapter_shutdown_error = _shutdown(harness)
        finally:
            collector.close()  # the HTTP front end an adapter asked for with url_for()
    if adapter_shutdown_error:
        errors["shutdown"] = adapter_shutdown_error
    replayed = _replay_unreached(factory, profile.name, expected_failures, harness, errors)
    results = decide(harness, findings, evidence, errors, expected_failures, covers=covers, replayed=replayed,
                     requirement_errors=dict.fromkeys(EXIT_REQUIREMENTS, exit_error) if exit_error else None)  # fmt: skip
    code = exit_code(results, require_all=require_all)
    finished = RunFinished(
        info=adapter.info,
        profile=profile.name,
        results=tuple(results),
        exit_code=code,
        seconds=round(time.perf_counter() - started, 3),
        provenance=_provenance(adapter, profile.name, run_settings),
        rule_counts=dict(harness.rule_counts),
        warnings=warnings_for(results, require_all=require_all),
        state_coverage={machine: dict(sorted(counts.items()))
                        for machine, counts in sorted(harness.state_coverage.items())},  # fmt: skip
    )
    emit(finished)
    return finished


def _run_machine_until_exercised(
    machines: Sequence[type[RuleBasedStateMachine]],
    machine: type[RuleBasedStateMachine],
    harness: Harness,
    run_settings: RunSettings,
    findings: dict[str, tuple[Violation, ...]],
    evidence: dict[str, tuple[str, dict[str, Any]]],
    emit: Callable[[Any], None],
    stop_on: frozenset[str],
    declared: frozenset[str],
    factory: AdapterFactory,
) -> str | None:
    """Run ``machine``; rerun it while a check of a scope no later machine covers was never reached.

    ``machines`` is the run's order (a scope two machines share waits for the last one); the
    reruns are at most ``MAX_TOP_UPS``, each on its own seed.
    """
    name: str = getattr(machine, "machine_name", machine.__name__)
    later = machines[list(machines).index(machine) + 1:]
    covers = frozenset(getattr(machine, "covers", frozenset())).difference(
        *(getattr(m, "covers", frozenset()) for m in later))
    error = _run_machine(machine, name, harness, run_settings, findings, evidence, emit, stop_on,
                         declared, factory)  # fmt: skip
    for top_up in range(1, MAX_TOP_UPS + 1):
        if error is not None or stop_on & set(findings) or not _unexercised(covers, harness, findings):
            break
        error = _run_machine(machine, name, harness, _top_up_settings(run_settings, top_up), findings,
                             evidence, emit, stop_on, declared | frozenset(findings), factory)  # fmt: skip
    if error is None and not stop_on & set(findings):
        error = _sweep_unseen_values(machine, name, harness, findings, evidence, emit, stop_on, declared,
                                     factory)  # fmt: skip
    return error


def _unexercised(covers: frozenset[str], harness: Harness,
                 findings: dict[str, tuple[Violation, ...]]) -> list[str]:  # fmt: skip
    """The requirements of the scopes in ``covers`` that apply to the adapter and no step checked yet.

    The exit probe's are checked after the machines, by the probe, never by a step.
    """
    return [r.id for r in REQUIREMENTS
            if r.scope.value in covers and r.id not in EXIT_REQUIREMENTS and harness.checks[r.id] == 0 and r.id not in findings
            and requirement_applies(r.id, r.capability, harness) is None]  # fmt: skip


def _top_up_settings(run_settings: RunSettings, top_up: int) -> RunSettings:
    """The settings of top-up ``top_up``: the same, on a seed of its own (deterministic for a derandomized run)."""
    return attrs.evolve(run_settings, seed=(run_settings.machine_seed or 0) + 7919 * top_up, example_db=None)


def _replay_unreached(factory: AdapterFactory, profile: str, expected_failures: Sequence[ExpectedFailure],
                      harness: Harness, errors: dict[str, str]) -> frozenset[str]:  # fmt: skip
    """Replay the reproducer of each declared deviation the run's examples did not reach.

    A known failure is an explicit example (as Hypothesis's ``@example``): examples drawn
    by another Hypothesis release, or after a fix elsewhere, may miss it, and then its own
    reproducer decides, on a fresh adapter of this run's SDK. Only violations the entry
    describes count; the requirements they showed are returned.
    """
    from conformance.engine.replay import ReplaySession  # noqa: PLC0415  (replay imports this module)

    reached = {v.requirement for v in harness.found.values()}
    todo = []
    for entry in expected_failures:
        if errors or entry.requirement in reached or not entry.reproducer.startswith("replay("):
            continue
        try:
            todo.append((entry, parse_reproducer(entry.reproducer, entry.requirement)))
        except InvalidInputError:
            continue  # not replayable: the entry stays as the run left it
    if not todo:
        return frozenset()
    shown: set[str] = set()
    session = ReplaySession(factory, profile=profile)
    try:
        for entry, args in todo:
            try:
                violations = session.replay(args.get("steps", []), machine=args.get("machine", "client"))
            except Exception:  # noqa: BLE001, S112  (a replay that cannot run shows nothing)
                continue
            for violation in violations:
                if violation.requirement == entry.requirement and entry.describes(str(violation.message)):
                    harness.found.setdefault(violation.dedup_key, violation)
                    shown.add(entry.requirement)
    finally:
        session.close()
    return frozenset(shown)


def adapter_reference(factory: object, info: AdapterInfo) -> str:
    """How a reproducer names the adapter so that ``replay`` can load it again.

    A name from the registry if ``info.name`` is one; else the factory's ``module:attr`` when
    it can be imported by that path; else ``info.name`` (replay then needs the factory).
    """
    from conformance.adapters.catalogue import available_adapters  # noqa: PLC0415

    declared = getattr(factory, "adapter_ref", None)  # e.g. 'cmd:node bridge.js segment'
    if isinstance(declared, str) and declared:
        return declared
    if info.name in {entry.name for entry in available_adapters()}:
        return info.name
    module, qualname = getattr(factory, "__module__", None), getattr(factory, "__qualname__", "")
    if module and qualname and "<" not in qualname and module != "__main__":
        return f"{module}:{qualname}"
    return info.name


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
    adapter = check_adapter(built, factory, info)
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
    factory: AdapterFactory | None = None,
) -> str | None:
    found: set[str] = set()
    started = time.perf_counter()
    for _ in range(MAX_ROUNDS):
        harness.ignore = frozenset(found) | declared
        harness.first_failure_example = None
        harness.first_failing_trace = None
        harness.last_adapter_error = ""
        try:
            run_machine(machine, run_settings.hypothesis_settings(), run_settings.machine_seed)
        except ConformanceFailure as failure:
            new = _record_failure(failure, name, harness, found, findings, evidence, emit, factory, started)
            if not new:
                return None
            found |= new
            if stop_on & found:
                return None
        except (AdapterFailedError, AdapterAbortedError) as exc:
            return _adapter_errored(exc, name, harness, emit)
        except Flaky as exc:
            before = set(findings)
            message = _flaky(exc, name, harness, findings, evidence, found, emit, factory)
            harness.timer_lost()  # the replays set and cleared the process's one timer
            recorded = set(findings) - before
            if message is not None or not recorded:
                return message
            found |= recorded  # go on: the next round looks for what this example hid
        else:
            return None
    return None


def _adapter_errored(exc: AdapterFailedError | AdapterAbortedError, name: str, harness: Harness,
                     emit: Callable[[Any], None]) -> str:  # fmt: skip
    """Report the machine's adapter error with the trace so far; an interrupted run goes on up."""
    trace = current_trace(harness, name)
    emit(AdapterErrored(name, str(exc), render_reproducer(trace, []), trace))
    if isinstance(exc, RunInterruptedError):
        raise exc
    return str(exc)


def _record_failure(
    failure: ConformanceFailure,
    name: str,
    harness: Harness,
    found: set[str],
    findings: dict[str, tuple[Violation, ...]],
    evidence: dict[str, tuple[str, dict[str, Any]]],
    emit: Callable[[Any], None],
    factory: AdapterFactory | None,
    started: float,
) -> set[str]:
    """Record the requirements ``failure`` breaks that ``found`` lacks, each with its own minimal reproducer."""
    new = {v.requirement for v in failure.violations} - found
    if not new:
        return new
    trace = failing_trace(harness, name)
    reproducer = render_reproducer(trace, sorted(new))
    for requirement in sorted(new):  # each finding gets its own minimal reproducer
        mine = tuple(v for v in failure.violations if v.requirement == requirement)
        shorter = minimize(factory, trace, {requirement}) if factory is not None else None
        own_trace = trace
        if shorter is not None:  # the same finding from fewer steps, and its violations
            own_trace = shorter[0]
            mine = tuple(v for v in shorter[1] if v.requirement == requirement) or mine
        findings[requirement] = _with_race_rate(factory, own_trace, requirement, mine)
        evidence[requirement] = (render_reproducer(own_trace, [requirement]), own_trace)
    harness.timer_lost()  # the replays set and cleared the process's one timer
    emit(ViolationFound(name, tuple(failure.violations), reproducer, trace,
                        examples=harness.detection_example(),
                        seconds=round(time.perf_counter() - started, 3)))  # fmt: skip
    return new


def _sweep_unseen_values(
    machine: type[RuleBasedStateMachine],
    name: str,
    harness: Harness,
    findings: dict[str, tuple[Violation, ...]],
    evidence: dict[str, tuple[str, dict[str, Any]]],
    emit: Callable[[Any], None],
    stop_on: frozenset[str],
    declared: frozenset[str],
    factory: AdapterFactory,
) -> str | None:
    """Run every small pool value the drawn steps never used, as explicit examples (see :mod:`.value_sweep`).

    Each rule's steps are examples of their own (so a finding's trace is short), and a rule
    with a precondition gets a fresh example when the precondition no longer holds.
    Returns the machine's error, as :func:`_run_machine` does.
    """
    started = time.perf_counter()
    todo: list[tuple[Any, int]] = []
    for method in drawn_rules(machine).values():  # drawn steps are keyed by their body's name
        drawn = harness.drawn[name, method.body.__name__]
        todo += [(method, index) for index in sweep_indexes(method.calls.fields, drawn)]
    found = set(findings)
    state: Any = None
    last: Any = None
    used = 0
    for method, index in [*todo, (None, -1)]:  # the last entry tears the last example down
        if stop_on & found:
            return None
        harness.ignore = frozenset(found) | declared
        preconditions = getattr(method, "hypothesis_stateful_preconditions", ())
        try:
            if state is not None and (method is not last or used >= SWEEP_EXAMPLE_STEPS
                                      or not all(p(state) for p in preconditions)):  # fmt: skip
                done, state = state, None
                done.teardown()
            if method is None:
                break
            last = method
            if state is None:
                state, used = machine(), 0
                harness.first_failure_example = None
            if not all(p(state) for p in preconditions):
                continue  # a fresh example cannot take this step either
            method(state, call=index)  # the drawn step itself: it decodes the index, then runs the body
            used += 1
        except ConformanceFailure as failure:
            state = None  # the next example flushes what this one left (harness.dirty)
            found |= _record_failure(failure, name, harness, found, findings, evidence, emit, factory, started)
        except (AdapterFailedError, AdapterAbortedError) as exc:
            return _adapter_errored(exc, name, harness, emit)
    return None


def _flaky(
    exc: Flaky,
    name: str,
    harness: Harness,
    findings: dict[str, tuple[Violation, ...]],
    evidence: dict[str, tuple[str, dict[str, Any]]],
    found: set[str],
    emit: Callable[[Any], None],
    factory: AdapterFactory | None = None,
) -> str | None:
    """A failure that did not happen again when Hypothesis replayed its example: a finding.

    A violation seen once is a FAIL of its requirement; an adapter error seen once is an
    ERROR of the machine. Either way the reason says it did not reproduce. Hypothesis
    calls the whole example flaky when any one of its failures did not come back, so each
    violation's trace is replayed on a fresh adapter first: one that comes back is an
    ordinary finding (with a minimal reproducer), only the others are marked flaky.
    """
    note = ("happened once and did not happen again when Hypothesis replayed the same "
            "example (state carried across examples, a race, or a one-off failure)")  # fmt: skip
    inner = list(getattr(exc, "exceptions", ()))
    error = next((e for e in inner if isinstance(e, (AdapterFailedError, AdapterAbortedError))), None)
    violations = [v for e in inner if isinstance(e, ConformanceFailure) for v in e.violations]
    violations += [v for v in harness.found.values() if v.requirement not in found]
    trace = failing_trace(harness, name)
    if harness.first_failing_trace is not None:
        trace = {**trace, "machine": name, "steps": harness.first_failing_trace}
    erred = error is not None or bool(harness.last_adapter_error)  # replaying a hang would hang
    for violation in violations:
        if violation.requirement in found or violation.requirement in findings:
            continue
        again = (_reproduced(factory, trace, violation.requirement)
                 if factory is not None and not erred else None)  # fmt: skip
        if again is not None:
            again_trace, again_violations = again
            findings[violation.requirement] = _with_race_rate(factory, again_trace, violation.requirement,
                                                              again_violations)  # fmt: skip
            evidence[violation.requirement] = (render_reproducer(again_trace, [violation.requirement]),
                                               again_trace)  # fmt: skip
            continue
        race = "" if factory is None or erred else _race_note(factory, trace, violation.requirement).strip(" []")
        flaky = attrs.evolve(violation, message=f"{violation.message} [flaky: {note}{'; ' + race if race else ''}]")
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


def _with_race_rate(factory: AdapterFactory | None, trace: dict[str, Any], requirement: str,
                    violations: tuple[Violation, ...]) -> tuple[Violation, ...]:  # fmt: skip
    """``violations``, each saying how often its reproducer shows it when the trace makes concurrent calls.

    A race comes and goes: ``[race: shown in 7 of 10 replays of its reproducer]`` tells a
    reader (and an expected failure's ``match``) that, where a bare FAIL would not.
    """
    note = "" if factory is None else _race_note(factory, trace, requirement)
    return tuple(attrs.evolve(v, message=f"{v.message}{note}") for v in violations) if note else violations


def _race_note(factory: AdapterFactory, trace: dict[str, Any], requirement: str) -> str:
    """`` [race: shown in k of n replays of its reproducer]`` for a trace with concurrent calls, else ''."""
    if not makes_concurrent_calls(trace):
        return ""
    shown, tried = replay_rate(factory, trace, requirement)
    return f" [race: shown in {shown} of {tried} replays of its reproducer]"


def _reproduced(factory: AdapterFactory, trace: dict[str, Any], requirement: str,
                ) -> tuple[dict[str, Any], tuple[Violation, ...]] | None:  # fmt: skip
    """The (minimal) trace and violations of ``requirement`` if replaying ``trace`` breaks it again."""
    from conformance.engine.replay import replay  # noqa: PLC0415  (replay imports the run loop)

    try:
        again = replay(factory, list(trace["steps"]), profile=trace["profile"], machine=trace["machine"])
    except Exception:  # noqa: BLE001  (a trace that cannot run again does not reproduce)
        return None
    mine = tuple(v for v in again if v.requirement == requirement)
    if not mine:
        return None
    shorter = minimize(factory, trace, {requirement})
    if shorter is not None:
        shorter_trace, shorter_violations = shorter
        return shorter_trace, tuple(v for v in shorter_violations if v.requirement == requirement) or mine
    return trace, mine


def _shutdown(harness: Harness) -> str | None:
    try:
        harness.call("shutdown()", harness.adapter.shutdown)
    except (AdapterFailedError, AdapterAbortedError) as exc:
        return str(exc)
    finally:
        harness.close()
    return None


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
