"""Traces and reproducers: the evidence of a failure, as JSON and as a program to paste."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conformance._errors import InvalidInputError, describe

if TYPE_CHECKING:
    from conformance.engine.harness import Harness


def current_trace(harness: Harness, machine: str) -> dict[str, Any]:
    """The trace of the example running when an adapter call failed or hung."""
    current = harness.current
    steps = current._trace_as_called() if current is not None else []  # noqa: SLF001
    return {**failing_trace(harness, machine), "machine": machine, "steps": steps}


def failing_trace(harness: Harness, machine: str) -> dict[str, Any]:
    """The trace of the round's last failing example (empty steps if there was none)."""
    info = harness.info
    return {
        "format": "identity-conformance-trace/1",
        "adapter": harness.adapter_ref or info.name,
        "profile": harness.profile.name,
        "machine": harness.last_failing_machine or machine,
        "steps": harness.last_failing_trace or [],
    }


def render_reproducer(trace: dict[str, Any], requirements: Sequence[str]) -> str:
    """A copy-pasteable Python program that replays ``trace`` and reports the violations."""
    lines = []
    for number, step in enumerate(trace["steps"], start=1):
        if step.get("made_by"):  # made again by the step (or teardown) that made it
            lines.append(f"        # step {number}: {step['rule']} {step['args']!r}, made by {step['made_by']}")
        else:
            lines.append(f"        ({step['rule']!r}, {step['args']!r}),  # step {number}")
    steps = "\n".join(lines)
    header = f"# Reproduces: {', '.join(requirements)}" if requirements else "# Reproduces an adapter error"
    return (
        f"{header}\n"
        "from conformance import replay\n\n"
        "violations = replay(\n"
        f"    adapter={trace['adapter']!r},\n"
        f"    profile={trace['profile']!r},\n"
        f"    machine={trace['machine']!r},\n"
        "    steps=[\n"
        f"{steps}\n"
        "    ],\n"
        ")\n"
        "for violation in violations:\n"
        "    print(violation, end='\\n\\n')\n"
    )


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
    if data.get("machine") == "exit":
        msg = (f"{str(path)!r} is the exit probe's trace: a program run in a child process, with no "
               "steps to replay. Save its 'program' field as a .py file and run it while "
               "`identity-conformance collector` answers at the URL it names.")  # fmt: skip
        raise InvalidInputError(msg)
    return data
