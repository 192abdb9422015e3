"""Structured violations: what broke, which requirement, expected versus observed."""

from __future__ import annotations

from typing import Any

import attrs

from conformance._requirements import get_requirement


@attrs.frozen
class Violation:
    """One observed breach of a requirement."""

    requirement: str
    message: str
    expected: Any = None
    observed: Any = None
    step: int | None = None
    """Index of the step (in the trace) whose event showed the breach."""

    def __attrs_post_init__(self) -> None:
        get_requirement(self.requirement)  # an unknown id is a bug in the checker

    @property
    def title(self) -> str:
        """``requirement: statement``, the first line a reader sees."""
        return f"{self.requirement}: {get_requirement(self.requirement).statement}"

    @property
    def dedup_key(self) -> tuple[str, str]:
        """Violations with the same key are the same finding."""
        return (self.requirement, self.message)

    def __str__(self) -> str:
        details = [self.message]
        if self.expected is not None or self.observed is not None:
            details += [f"  expected: {self.expected!r}", f"  observed: {self.observed!r}"]
        return f"{self.title}\n\n" + "\n".join(details)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {
            "requirement": self.requirement,
            "message": self.message,
            "expected": _jsonable(self.expected),
            "observed": _jsonable(self.observed),
            "step": self.step,
        }


def _jsonable(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    to_json = getattr(value, "to_json", None)
    if callable(to_json):
        return to_json()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [_jsonable(v) for v in value]
    return repr(value)


class ConformanceFailure(AssertionError):  # noqa: N818  (reads as Hypothesis's own failures do)
    """Raised inside the state machine so Hypothesis shrinks to a minimal step sequence."""

    def __init__(self, violations: list[Violation]) -> None:
        self.violations = violations
        super().__init__("\n\n".join(str(v) for v in violations))
