"""The exit probe: what a server SDK does when its process ends without flush or shutdown.

An application's process ends (a deploy, a worker recycled, a script done) after its last
call; whatever the SDK queued is delivered by its exit hook or lost, and a hook that waits
too long holds up the exit. The engine asks an adapter with the ``exit`` capability for a
standalone program (``exit_program``) that makes a few tracks through a fresh SDK instance,
prints :data:`~conformance.adapters.protocol.EXIT_PROBE_DONE` and ends, runs it in a child
process with this interpreter, and then looks at the collector:

* ``server.exit.bounded``: the child exits within the profile's ``exit_seconds`` of the
  line its last call printed (it is killed after that, plus a grace period);
* ``server.exit.delivers``: each of the calls' events arrived (the child's posts reach
  the collector before the child ends, so nothing is waited for afterwards).

Then it runs the program again while the collector is down (every delivery answered
:data:`OUTAGE_FAULT`, as when a process ends during an outage of the endpoint):

* ``server.exit.bounded`` again: an SDK that retries without end, or whose calls block
  on the dead endpoint, must still let the process exit within the bound;
* ``delivery.outage.no-silent-loss``: the events are lost, so the SDK must say so: an
  error from a call, or anything on stderr (a warning it logged: the program is run with
  ``logging.basicConfig(level=WARNING)``, as applications configure logging). Checked only
  when the SDK tried to deliver during the outage; one that never tried is
  ``server.exit.delivers``' business.

The program is the finding's reproducer: it needs nothing of this suite but a collector
(``identity-conformance collector --down 503`` for the outage run).
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from typing import Any, cast

import attrs

from conformance._violations import Violation
from conformance.adapters.protocol import EXIT_PROBE_DONE, ExitProbeAdapter, ServerCall
from conformance.engine.harness import Harness
from conformance.machines import requirement_applies
from conformance.machines import strategies as gen

CALLS = 3
GRACE_SECONDS = 1.0
"""How long past the bound the child may run before it is killed (a hang is then reported)."""
START_SECONDS = 60.0
"""How long the child may take to import the SDK and make its calls."""
OUTAGE_FAULT = "503"
"""What every delivery of the outage run meets (see :meth:`Collector.go_down`)."""
BOUNDED = "server.exit.bounded"
DELIVERS = "server.exit.delivers"
TOLD = "delivery.outage.no-silent-loss"
EXIT_REQUIREMENTS = (BOUNDED, DELIVERS)
LOGGING_PRELUDE = (
    "import logging\n"
    "logging.basicConfig(level=logging.WARNING)  # as applications do: the SDK's warnings reach stderr\n"
)
"""What the outage run puts before the program, so a warning the SDK logs is seen."""

Evidence = dict[str, tuple[str, dict[str, Any]]]


@attrs.frozen
class ChildRun:
    """How one run of an exit program went."""

    done_after: float | None
    """Seconds from the child's start to its done line; None if it never printed it."""
    exited_after: float | None
    """Seconds from the done line to the child's exit; None if it was killed or never printed it."""
    ended: bool
    """Whether the child ended by itself (it was not killed)."""
    returncode: int | None
    stderr: str


def probe_exit(harness: Harness, evidence: Evidence) -> str | None:
    """Run the adapter's exit program, then again with the collector down; record checks and violations.

    An error message (the program could not be had or did not get to its calls), or None.
    """
    if any(requirement_applies(r, "exit", harness) is not None for r in EXIT_REQUIREMENTS):
        return None
    try:
        _probe_exit(harness, evidence)
    except _ProbeError as exc:
        return str(exc)
    return None


class _ProbeError(Exception):
    """The probe could not get a program from the adapter, or the program not to its calls."""


def _probe_exit(harness: Harness, evidence: Evidence) -> None:
    calls = _calls("exit")
    program = _program(harness, calls)
    harness.collector.drain()  # what the machines left is theirs, not the probe's
    bound = harness.profile.exit_seconds
    run = _run_child(program, bound, START_SECONDS)
    if run.done_after is None:
        raise _ProbeError(f"the exit program did not print its done line within {START_SECONDS:g} s (exit "
                          f"code {run.returncode}; stderr: {run.stderr[-500:]!r})")  # fmt: skip
    arrived = {e.name for e in harness.collector.drain() if e.name}
    trace = _trace(harness, program)
    reproducer = "# Reproduces: {requirement} (run it while a collector answers at the URL it names)\n"
    harness.checks[BOUNDED] += 1
    if (how := _late_exit(run, bound)) is not None:
        _violate(harness, evidence, BOUNDED, f"a process that made {CALLS} tracks and no flush {how} "
                 f"(the profile's bound is {bound:g} s)", f"exit within {bound:g} s",
                 how, reproducer, trace)  # fmt: skip
    harness.checks[DELIVERS] += 1
    missing = [c.event for c in calls if c.event not in arrived]
    if missing:
        tail = f"; exit code {run.returncode}, stderr: {run.stderr[-300:]!r}" if run.returncode else ""
        _violate(harness, evidence, DELIVERS, f"{len(missing)} of {CALLS} tracks accepted before the process "
                 f"exited (no flush called) never arrived{tail}", [c.event for c in calls],
                 sorted(arrived & {c.event for c in calls}), reproducer, trace)  # fmt: skip
    _probe_exit_in_outage(harness, evidence, bound, start_limit=2 * run.done_after + bound + GRACE_SECONDS)


def _probe_exit_in_outage(harness: Harness, evidence: Evidence, bound: float, start_limit: float) -> None:
    """The exit program again while every delivery fails: the exit stays bounded and the loss is told."""
    program = LOGGING_PRELUDE + _program(harness, _calls("exit-outage"))
    collector = harness.collector
    attempts_before = collector.failed_deliveries
    collector.go_down(OUTAGE_FAULT)
    try:
        run = _run_child(program, bound, start_limit)
    finally:
        collector.recover()
    attempts = collector.failed_deliveries - attempts_before
    collector.drain()  # nothing can have been recorded while down
    down = f"while the collector answered every delivery with {OUTAGE_FAULT}"
    trace = _trace(harness, program, collector=f"down: every delivery answered {OUTAGE_FAULT}")
    reproducer = ("# Reproduces: {requirement} (run it while `identity-conformance collector --down "
                  f"{OUTAGE_FAULT}` answers at the URL it names)\n")  # fmt: skip
    harness.checks[BOUNDED] += 1
    if run.done_after is None and not run.ended:
        stalled = f"had not returned from its calls {start_limit:.1f} s after it started and was killed"
        _violate(harness, evidence, BOUNDED, f"{down}, a process making {CALLS} tracks {stalled} (the calls "
                 f"return at once when the collector is up; the profile's exit bound is {bound:g} s)",
                 f"exit within {bound:g} s of the last call", stalled, reproducer, trace)  # fmt: skip
    elif run.done_after is not None and (late := _late_exit(run, bound)) is not None:
        _violate(harness, evidence, BOUNDED, f"{down}, a process that made {CALLS} tracks and no flush {late} "
                 f"(the profile's bound is {bound:g} s)", f"exit within {bound:g} s", late,
                 reproducer, trace)  # fmt: skip
    if attempts and run.ended and requirement_applies(TOLD, None, harness) is None:
        harness.checks[TOLD] += 1
        if not run.stderr.strip() and run.returncode == 0:
            _violate(harness, evidence, TOLD, f"{down}, the {CALLS} tracks of a process that then exited were "
                     f"lost ({attempts} delivery attempt(s) failed) and the SDK said nothing: no error from "
                     "a call, nothing logged at WARNING or above, exit code 0",
                     "an error from a call or a warning logged", "nothing on stderr, exit code 0",
                     reproducer, trace)  # fmt: skip


def _calls(tag: str) -> list[ServerCall]:
    return [ServerCall(event=f"Exit Probe {i}{gen.MARKER}{tag}-{i}", properties={"n": i},
                       user_id=f"u-{tag}-{i}", anonymous_id=f"anon-{tag}-{i}") for i in range(1, CALLS + 1)]  # fmt: skip


def _late_exit(run: ChildRun, bound: float) -> str | None:
    """How a child that printed its done line overran the bound, in words; None if it did not."""
    if run.exited_after is None:
        return f"was still running {bound + GRACE_SECONDS:g} s after its last call and was killed"
    return f"exited {run.exited_after:.1f} s after its last call" if run.exited_after > bound else None


def _trace(harness: Harness, program: str, **extra: str) -> dict[str, Any]:
    """The trace of an exit run: no steps, the program (its reproducer) and what else set it up."""
    return {"format": "identity-conformance-trace/1", "machine": "exit", "profile": harness.profile.name,
            "steps": [], "program": program, **extra}  # fmt: skip


def _program(harness: Harness, calls: list[ServerCall]) -> str:
    """The adapter's exit program for ``calls``; :class:`_ProbeError` if it has none."""
    try:
        program: object = cast("ExitProbeAdapter", harness.adapter).exit_program(calls)
    except Exception as exc:  # an adapter error is the run's ERROR, never a pass
        msg = f"exit_program() raised {type(exc).__name__}: {exc}"
        raise _ProbeError(msg) from exc
    if not isinstance(program, str) or not program.strip():
        msg = f"exit_program() must return Python source text (got {type(program).__name__})"
        raise _ProbeError(msg)
    return program


def _violate(harness: Harness, evidence: Evidence, requirement: str, message: str, expected: Any,
             observed: Any, reproducer: str, trace: dict[str, Any]) -> None:  # fmt: skip
    violation = Violation(requirement=requirement, message=message, expected=expected, observed=observed)
    harness.found.setdefault(violation.dedup_key, violation)
    evidence.setdefault(requirement, (reproducer.format(requirement=requirement) + trace["program"], trace))


def _run_child(program: str, bound: float, start_seconds: float) -> ChildRun:
    """Run ``program``: wait ``start_seconds`` for its done line, then ``bound`` plus grace for its exit."""
    started = time.monotonic()
    with subprocess.Popen([sys.executable, "-c", program], stdin=subprocess.DEVNULL,  # noqa: S603
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as child:  # fmt: skip
        errors: list[str] = []
        reader = threading.Thread(target=lambda: errors.append(child.stderr.read() if child.stderr else ""),
                                  daemon=True)  # fmt: skip
        reader.start()
        done_at = _wait_for_done(child, start_seconds)
        exited_after: float | None = None
        ended = True
        try:
            child.wait(0.5 if done_at is None else bound + GRACE_SECONDS)
            exited_after = None if done_at is None else time.monotonic() - done_at
        except subprocess.TimeoutExpired:
            ended = False
            child.kill()
            child.wait()
        reader.join(5)
    return ChildRun(done_after=None if done_at is None else done_at - started, exited_after=exited_after,
                    ended=ended, returncode=child.returncode, stderr="".join(errors))  # fmt: skip


def _wait_for_done(child: subprocess.Popen[str], start_seconds: float) -> float | None:
    """The monotonic time the child printed its done line, or None (it ended or took too long).

    The reader keeps draining stdout after the done line, so a chatty exit hook cannot
    block on a full pipe (which would look like a hang).
    """
    found: list[float] = []
    done = threading.Event()

    def read() -> None:
        assert child.stdout is not None
        for line in child.stdout:
            if not found and line.strip() == EXIT_PROBE_DONE:
                found.append(time.monotonic())
                done.set()
        done.set()  # end of output: the child ended

    threading.Thread(target=read, daemon=True).start()
    done.wait(start_seconds)
    return found[0] if found else None
