"""Verdicts: from what the machines found and exercised to one result per requirement."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from conformance._requirements import REQUIREMENTS, Level
from conformance._violations import Violation
from conformance.engine.events import RequirementResult, Verdict
from conformance.engine.expected import ExpectedFailure
from conformance.engine.harness import Harness
from conformance.machines import requirement_applies


def decide(
    harness: Harness,
    findings: dict[str, tuple[Violation, ...]],
    evidence: dict[str, tuple[str, dict[str, Any]]],
    errors: dict[str, str],
    expected_failures: Sequence[ExpectedFailure],
    covers: dict[str, frozenset[str]],
    replayed: frozenset[str] = frozenset(),
    requirement_errors: Mapping[str, str] | None = None,
) -> list[RequirementResult]:
    """One result per requirement: skip, fail, error, never exercised, pass, then expectations.

    ``errors`` is keyed by machine name (or a run-wide key); ``covers`` says which
    requirement scopes each machine checks, so any machine's error reaches its verdicts.
    ``replayed`` names the declared failures that only their reproducer's replay showed;
    ``requirement_errors`` are errors of one requirement's own check (the exit probe's).
    """
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
        elif error := (requirement_errors or {}).get(requirement.id) or _error_for(
                requirement.scope.value, errors, covers):
            verdict, reason = Verdict.ERROR, error
        elif checks == 0:
            verdict = Verdict.ERROR
            reason = "never exercised: no generated step reached a check of this requirement"
        else:
            verdict, reason = Verdict.PASS, ""
        declared = expected.get(requirement.id)
        other = next((v for v in seen.get(requirement.id, []) if declared is not None
                      and not declared.describes(str(v.message))), None)  # fmt: skip
        if declared is not None and verdict is Verdict.FAIL and other is not None:
            reason = (f"a deviation the expected failure does not describe (its match "
                      f"{declared.match!r} is not in the message): {other.message}")  # fmt: skip
            findings[requirement.id] = (other, *(v for v in findings[requirement.id] if v is not other))
        elif declared is not None and verdict is Verdict.FAIL:
            verdict, reason = Verdict.XFAIL, f"expected failure: {declared.reason}"
            if requirement.id in replayed:
                reason = ("expected failure, shown by replaying its reproducer (the run's examples "
                          f"did not reach it): {declared.reason}")  # fmt: skip
            reproducer = reproducer or declared.reproducer or None
        elif declared is not None and verdict is Verdict.PASS and declared.intermittent:
            reason = f"declared intermittent ({declared.reason}); it did not happen in this run"
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


RUN_WIDE = ("interrupted", "shutdown")
"""Error keys that are not a machine's: they make every undecided requirement ERROR."""


def _error_for(scope: str, errors: dict[str, str], covers: dict[str, frozenset[str]]) -> str | None:
    """The error of the run, or of a machine whose checks cover ``scope``, if any."""
    for key in RUN_WIDE:
        if key in errors:
            return errors[key]
    for machine, error in errors.items():
        if scope in covers.get(machine, frozenset()):
            return error
    return None


def exit_code(results: Sequence[RequirementResult], *, require_all: bool = False) -> int:
    """1 for an ERROR, an XPASS, a MUST failure (or, with ``require_all``, a skipped MUST); else 0."""
    for result in results:
        if require_all and skipped_must(result):
            return 1
        if result.verdict in (Verdict.ERROR, Verdict.XPASS):
            return 1
        if result.verdict is Verdict.FAIL and result.level == Level.MUST.value:
            return 1
    return 0


_KIND_SKIP = " SDK"
"""How a skip reason for the other half of the seed ends ("... is a server SDK")."""


def skipped_must(result: RequirementResult) -> bool:
    """A MUST requirement skipped for a missing capability or profile (not for the SDK's kind)."""
    return (result.verdict is Verdict.SKIP and result.level == Level.MUST.value
            and not result.reason.endswith(_KIND_SKIP))


def warnings_for(results: Sequence[RequirementResult], *, require_all: bool) -> tuple[str, ...]:
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
    must = [r.requirement for r in results if skipped_must(r)]
    if require_all and must:
        out.append(f"require_all: {len(must)} MUST requirement(s) skipped: {', '.join(must)}")
    return tuple(out)
