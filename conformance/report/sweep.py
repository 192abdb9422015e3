"""The mutant sweep: every built-in faulty SDK must be caught with the requirement it breaks.

Run it as ``python -m conformance.report.sweep --output reports/mutants.md [--json
reports/mutants.json]``. It first runs the reference adapter under every profile (each
must pass), then each mutant with ``stop_on`` its declared requirement, and writes a
Markdown table of how quickly each bug was found. Exit code 0 only if every profile
passed and every mutant was caught with its expected requirement.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs
import hypothesis

from conformance.adapters.catalogue import load_adapter
from conformance.engine.events import Event, Verdict, ViolationFound
from conformance.engine.run import RunSettings, run
from conformance.mutants.core import MUTANTS, Mutant
from simulator import PROFILES


@attrs.define
class DetectionRecorder:
    """Handler: keeps the first :class:`ViolationFound` that names ``requirement``."""

    requirement: str
    found: ViolationFound | None = None

    def start(self) -> None:
        """Nothing to set up."""

    def handle_event(self, event: Event) -> None:
        """Remember the first violation report that contains the expected requirement."""
        if (self.found is None and isinstance(event, ViolationFound)
                and any(v.requirement == self.requirement for v in event.violations)):  # fmt: skip
            self.found = event

    def shutdown(self) -> None:
        """Nothing to release."""


@attrs.frozen
class MutantResult:
    """How the sweep fared against one mutant."""

    name: str
    bug: str
    requirement: str
    caught: bool
    verdict: str
    exit_code: int | None
    examples: int | None
    seconds: float | None
    wall_seconds: float
    error: str | None = None

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return attrs.asdict(self)


def sweep_mutant(mutant: Mutant, run_settings: RunSettings) -> MutantResult:
    """Run one mutant until its declared requirement fails (or the budget runs out)."""
    recorder = DetectionRecorder(mutant.breaks)
    started = time.perf_counter()
    try:
        finished = run(load_adapter(mutant.name), run_settings=run_settings,
                       handlers=[recorder], stop_on=frozenset({mutant.breaks}))  # fmt: skip
    except Exception as exc:  # noqa: BLE001  (one broken mutant must not hide the others)
        return MutantResult(mutant.name, mutant.bug, mutant.breaks, caught=False, verdict="crashed",
                            exit_code=None, examples=None, seconds=None,
                            wall_seconds=round(time.perf_counter() - started, 3),
                            error=f"{type(exc).__name__}: {exc}")  # fmt: skip
    verdict = next(r.verdict for r in finished.results if r.requirement == mutant.breaks)
    found = recorder.found
    return MutantResult(
        mutant.name, mutant.bug, mutant.breaks,
        caught=verdict is Verdict.FAIL and finished.exit_code == 1, verdict=verdict.value,
        exit_code=finished.exit_code, examples=found.examples if found else None,
        seconds=found.seconds if found else None,
        wall_seconds=round(time.perf_counter() - started, 3),
    )  # fmt: skip


def sweep_profiles(run_settings: RunSettings) -> dict[str, int]:
    """The reference adapter's exit code under every profile (each must be 0)."""
    return {name: run(load_adapter("reference", profile=name), run_settings=run_settings).exit_code
            for name in PROFILES}  # fmt: skip


def _cell(value: object) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def render_markdown(header: dict[str, Any], profiles: dict[str, int],
                    mutants: Sequence[MutantResult]) -> str:  # fmt: skip
    """The sweep report as Markdown: provenance, the profile table, the mutant table, totals."""
    settings = ", ".join(f"{k}={v}" for k, v in header["settings"].items())
    lines = [
        "# Mutant sweep",
        "",
        f"identity-conformance {header['tool_version']} (Hypothesis "
        f"{header['hypothesis_version']}, Python {header['python']}); date (UTC) "
        f"{header['datetime']}; settings: {settings}"
        f"{' (derandomized)' if header['settings']['seed'] is None else ''}.",
        "",
        "## Reference adapter under every profile",
        "",
        "| profile | exit code |",
        "| --- | --- |",
        *(f"| {name} | {code} |" for name, code in profiles.items()),
        "",
        "## Mutants",
        "",
        "| mutant | bug | requirement expected | caught | examples to detection | seconds |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for m in mutants:
        caught = "yes" if m.caught else f"**no** ({_cell(m.error or m.verdict)})"
        lines.append(
            f"| `{m.name}` | {_cell(m.bug)} | `{m.requirement}` | {caught} | "
            f"{'' if m.examples is None else m.examples} | "
            f"{'' if m.seconds is None else f'{m.seconds:.2f}'} |"
        )
    totals = header["totals"]
    lines += [
        "",
        f"**Total: {totals['caught']}/{totals['mutants']} mutants caught with their expected "
        f"requirement; {totals['profiles_passing']}/{totals['profiles']} profiles pass; "
        f"wall time {totals['wall_seconds']:.1f} s.**",
        "",
    ]
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.report.sweep",
        description="Run the reference adapter under every profile, then every built-in "
        "mutant, and report which mutants were caught with the requirement they break.",
    )
    parser.add_argument("--output", type=Path, required=True,
                        help="Markdown report to write, e.g. reports/mutants.md")  # fmt: skip
    parser.add_argument("--json", type=Path, default=None,
                        help="also write the results as JSON, e.g. reports/mutants.json")  # fmt: skip
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; 0 only if every profile passes and every mutant is caught as declared."""
    args = _parser().parse_args(argv)
    run_settings = RunSettings()
    started = time.perf_counter()
    header: dict[str, Any] = {
        "tool": "identity-conformance",
        "tool_version": _version(),
        "hypothesis_version": hypothesis.__version__,
        "python": sys.version.split()[0],
        "datetime": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "settings": run_settings.to_json(),
    }
    print(f"sweep: reference adapter under {len(PROFILES)} profiles", file=sys.stderr)
    profiles = sweep_profiles(run_settings)
    for name, code in profiles.items():
        print(f"  profile {name}: exit code {code}", file=sys.stderr)
    results = []
    for i, mutant in enumerate(MUTANTS, 1):
        result = sweep_mutant(mutant, run_settings)
        results.append(result)
        status = "caught" if result.caught else f"NOT CAUGHT ({result.error or result.verdict})"
        print(f"[{i}/{len(MUTANTS)}] {mutant.name}: {status} ({mutant.breaks}; "
              f"{result.examples} examples, {result.wall_seconds:.1f} s)", file=sys.stderr)  # fmt: skip
    caught = sum(r.caught for r in results)
    passing = sum(code == 0 for code in profiles.values())
    header["totals"] = {
        "mutants": len(results), "caught": caught, "profiles": len(profiles),
        "profiles_passing": passing, "wall_seconds": round(time.perf_counter() - started, 1),
    }  # fmt: skip
    ok = caught == len(results) and passing == len(profiles)
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(render_markdown(header, profiles, results), encoding="utf-8")
    if args.json is not None:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        data = {**header, "exit_code": 0 if ok else 1,
                "profiles": [{"profile": k, "exit_code": v} for k, v in profiles.items()],
                "mutants": [r.to_json() for r in results]}  # fmt: skip
        args.json.write_text(
            json.dumps(data, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
        )
    print(f"sweep: {caught}/{len(results)} mutants caught, {passing}/{len(profiles)} profiles pass, "
          f"{header['totals']['wall_seconds']:.1f} s; wrote {args.output}", file=sys.stderr)  # fmt: skip
    return 0 if ok else 1


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("identity-conformance")
    except PackageNotFoundError:
        return "0+unknown"


if __name__ == "__main__":
    raise SystemExit(main())
