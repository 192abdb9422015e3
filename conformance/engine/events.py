"""Past-tense records the engine emits; report writers and front ends consume them."""

from __future__ import annotations

import enum
from typing import Any, Protocol

import attrs

from conformance._violations import Violation
from conformance.adapters.protocol import AdapterInfo


class Verdict(str, enum.Enum):
    """The outcome for one requirement."""

    PASS = "pass"  # noqa: S105  (a verdict, not a password)
    FAIL = "fail"
    SKIP = "skip"
    ERROR = "error"
    XFAIL = "xfail"
    """Failed, and declared as an expected failure."""
    XPASS = "xpass"
    """Declared as an expected failure, but passed: the declaration is stale."""


@attrs.frozen
class RequirementResult:
    """Verdict and evidence for one requirement."""

    requirement: str
    level: str
    verdict: Verdict
    reason: str = ""
    checks: int = 0
    violations: tuple[Violation, ...] = ()
    reproducer: str | None = None
    trace: dict[str, Any] | None = None


@attrs.frozen
class RunStarted:
    """A run began."""

    info: AdapterInfo
    profile: str
    settings: dict[str, Any]
    started_at: str


@attrs.frozen
class ProgressReported:
    """Periodic progress on a long run."""

    machine: str
    steps: int
    examples: int


@attrs.frozen
class ViolationFound:
    """Hypothesis found, and shrank, a failing step sequence."""

    machine: str
    violations: tuple[Violation, ...]
    reproducer: str
    trace: dict[str, Any]
    examples: int = 0
    """Examples run by the whole run when the failure was first seen."""
    seconds: float = 0.0
    """Seconds since this machine's search started when the failure was reported (after shrinking)."""


@attrs.frozen
class AdapterErrored:
    """The adapter crashed, hung or answered garbage: an ERROR verdict, never a pass."""

    machine: str
    message: str
    reproducer: str | None
    trace: dict[str, Any] | None


@attrs.frozen
class MachineFinished:
    """One state machine finished."""

    machine: str
    steps: int
    examples: int
    rule_counts: dict[str, int]


@attrs.frozen
class RunFinished:
    """The run ended; ``results`` holds one verdict per requirement."""

    info: AdapterInfo
    profile: str
    results: tuple[RequirementResult, ...]
    exit_code: int
    seconds: float
    provenance: dict[str, Any]
    rule_counts: dict[str, int]
    warnings: tuple[str, ...] = ()
    """Headline warnings (for example: most requirements were skipped by declaration)."""
    state_coverage: dict[str, dict[str, int]] = attrs.Factory(dict)
    """Per machine, how often each identity state and step from it was reached."""


Event = RunStarted | ProgressReported | ViolationFound | AdapterErrored | MachineFinished | RunFinished


class Handler(Protocol):
    """A consumer of engine events (report writers, console output, the pytest plugin)."""

    def start(self) -> None:
        """Called once before the first event."""

    def handle_event(self, event: Event) -> None:
        """Called for each event, in order."""

    def shutdown(self) -> None:
        """Called once after the last event, even when the run raised."""
