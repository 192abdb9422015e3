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

The program is the finding's reproducer: it needs nothing of this suite but a collector.
"""

from __future__ import annotations

import subprocess
import sys
import threading
import time
from typing import Any, cast

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
BOUNDED = "server.exit.bounded"
DELIVERS = "server.exit.delivers"
EXIT_REQUIREMENTS = (BOUNDED, DELIVERS)


def probe_exit(harness: Harness, evidence: dict[str, tuple[str, dict[str, Any]]]) -> str | None:
    """Run the adapter's exit program once; record checks and violations. An error message, or None."""
    if any(requirement_applies(r, "exit", harness) is not None for r in EXIT_REQUIREMENTS):
        return None
    calls = [ServerCall(event=f"Exit Probe {i}{gen.MARKER}exit-{i}", properties={"n": i},
                        user_id=f"u-exit-{i}", anonymous_id=f"anon-exit-{i}") for i in range(1, CALLS + 1)]  # fmt: skip
    try:
        program: object = cast("ExitProbeAdapter", harness.adapter).exit_program(calls)
    except Exception as exc:  # noqa: BLE001  (an adapter error is the run's ERROR, never a pass)
        return f"exit_program() raised {type(exc).__name__}: {exc}"
    if not isinstance(program, str) or not program.strip():
        return f"exit_program() must return Python source text (got {type(program).__name__})"
    harness.collector.drain()  # what the machines left is theirs, not the probe's
    bound = harness.profile.exit_seconds
    outcome = _run_child(program, bound)
    if isinstance(outcome, str):
        return outcome
    exited_after, returncode, stderr = outcome
    arrived = {e.name for e in harness.collector.drain() if e.name}
    trace = {"format": "identity-conformance-trace/1", "machine": "exit", "profile": harness.profile.name,
             "steps": [], "program": program}  # fmt: skip
    reproducer = "# Reproduces: {requirement} (run it while a collector answers at the URL it names)\n"
    harness.checks[BOUNDED] += 1
    if exited_after is None or exited_after > bound:
        how = (f"was still running {bound + GRACE_SECONDS:g} s after its last call and was killed"
               if exited_after is None else f"exited {exited_after:.1f} s after its last call")  # fmt: skip
        _violate(harness, evidence, BOUNDED, f"a process that made {CALLS} tracks and no flush {how} "
                 f"(the profile's bound is {bound:g} s)", f"exit within {bound:g} s",
                 how, reproducer, trace)  # fmt: skip
    harness.checks[DELIVERS] += 1
    missing = [c.event for c in calls if c.event not in arrived]
    if missing:
        tail = f"; exit code {returncode}, stderr: {stderr[-300:]!r}" if returncode else ""
        _violate(harness, evidence, DELIVERS, f"{len(missing)} of {CALLS} tracks accepted before the process "
                 f"exited (no flush called) never arrived{tail}", [c.event for c in calls],
                 sorted(arrived & {c.event for c in calls}), reproducer, trace)  # fmt: skip
    return None


def _violate(harness: Harness, evidence: dict[str, tuple[str, dict[str, Any]]], requirement: str,
             message: str, expected: Any, observed: Any, reproducer: str, trace: dict[str, Any]) -> None:  # fmt: skip
    violation = Violation(requirement=requirement, message=message, expected=expected, observed=observed)
    harness.found.setdefault(violation.dedup_key, violation)
    evidence[requirement] = (reproducer.format(requirement=requirement) + trace["program"], trace)


def _run_child(program: str, bound: float) -> tuple[float | None, int | None, str] | str:
    """Run ``program``; (seconds from its done line to its exit or None if killed, exit code, stderr)."""
    with subprocess.Popen([sys.executable, "-c", program], stdin=subprocess.DEVNULL,  # noqa: S603
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) as child:  # fmt: skip
        errors: list[str] = []
        reader = threading.Thread(target=lambda: errors.append(child.stderr.read() if child.stderr else ""),
                                  daemon=True)  # fmt: skip
        reader.start()
        done_at = _wait_for_done(child)
        exited_after: float | None = None
        try:
            child.wait(START_SECONDS if done_at is None else bound + GRACE_SECONDS)
            exited_after = None if done_at is None else time.monotonic() - done_at
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        reader.join(5)
    stderr = "".join(errors)
    if done_at is None:
        return (f"the exit program did not print its done line within {START_SECONDS:g} s (exit code "
                f"{child.returncode}; stderr: {stderr[-500:]!r})")  # fmt: skip
    return exited_after, child.returncode, stderr


def _wait_for_done(child: subprocess.Popen[str]) -> float | None:
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
    done.wait(START_SECONDS)
    return found[0] if found else None
