"""The mutant sweep: every built-in faulty SDK must be caught with the requirement it breaks.

Run it as ``python -m conformance.report.sweep --output reports/mutants.md [--json
reports/mutants.json] [--exhaustive]``. It first runs the reference adapter under every
profile (each must pass), then each mutant with ``stop_on`` its primary requirement, and
writes a Markdown table of how quickly each bug was found. A mutant is caught when its
primary requirement's verdict is FAIL (so SHOULD and MAY requirements can have mutants:
their FAIL does not fail a run); any other requirement that FAILs must be listed in the
mutant's ``also_breaks``, or it is a surprise. ``--exhaustive`` runs every mutant to the
end (no ``stop_on``), so each listed knock-on must FAIL too. Exit code 0 only if every
profile passed and every mutant was caught without surprises (and, exhaustive, with no
stale knock-on).
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
from conformance.engine.run import run
from conformance.engine.settings import RunSettings
from conformance.mutants import MUTANTS, Mutant
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
    """How the sweep fared against one mutant.

    ``caught``: the primary requirement's verdict is FAIL (a SHOULD or MAY requirement
    fails without failing the run, so the exit code alone says nothing). ``knock_ons``:
    listed knock-on requirements that failed too. ``surprises``: requirements that
    failed without being listed, which fail the sweep. ``unseen``: listed knock-ons that
    did not fail; a stopped run need not reach them, so they fail the sweep only when it
    is exhaustive (``stale``).
    """

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
    also_breaks: tuple[str, ...] = ()
    knock_ons: tuple[str, ...] = ()
    surprises: tuple[str, ...] = ()
    unseen: tuple[str, ...] = ()
    exhaustive: bool = False

    @property
    def stale(self) -> tuple[str, ...]:
        """Listed knock-ons an exhaustive run did not see fail: ``also_breaks`` is out of date."""
        return self.unseen if self.exhaustive else ()

    @property
    def ok(self) -> bool:
        """Caught with its primary requirement, no surprise and (if exhaustive) nothing stale."""
        return self.caught and not self.surprises and not self.stale

    def problem(self) -> str:
        """Why the mutant is not ``ok``, in a few words ('' if it is)."""
        if self.error is not None:
            return self.error
        parts = []
        if not self.caught:
            parts.append(f"{self.requirement} is {self.verdict}")
        if self.surprises:
            parts.append(f"surprise FAIL of {', '.join(self.surprises)}")
        if self.stale:
            parts.append(f"listed but did not fail: {', '.join(self.stale)}")
        return "; ".join(parts)

    def to_json(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {**attrs.asdict(self), "ok": self.ok, "stale": list(self.stale)}


def sweep_mutant(mutant: Mutant, run_settings: RunSettings, *, exhaustive: bool = False
                 ) -> MutantResult:  # fmt: skip
    """Run one mutant and compare the requirements that failed with those it lists.

    By default the run stops once the primary requirement fails (``stop_on``): knock-ons
    seen on the way are checked against ``also_breaks``, and any other FAIL is a surprise.
    ``exhaustive`` runs without stopping, so every listed knock-on must fail too; it costs
    several times as much and is how ``also_breaks`` is kept up to date.
    """
    recorder = DetectionRecorder(mutant.breaks)
    started = time.perf_counter()
    stop_on = frozenset() if exhaustive else frozenset({mutant.breaks})
    try:
        finished = run(load_adapter(mutant.name), run_settings=run_settings,
                       handlers=[recorder], stop_on=stop_on)  # fmt: skip
    except Exception as exc:  # noqa: BLE001  (one broken mutant must not hide the others)
        return MutantResult(mutant.name, mutant.bug, mutant.breaks, caught=False, verdict="crashed",
                            exit_code=None, examples=None, seconds=None,
                            wall_seconds=round(time.perf_counter() - started, 3),
                            error=f"{type(exc).__name__}: {exc}", also_breaks=mutant.also_breaks,
                            exhaustive=exhaustive)  # fmt: skip
    verdict = next(r.verdict for r in finished.results if r.requirement == mutant.breaks)
    failed = [r.requirement for r in finished.results if r.verdict is Verdict.FAIL]
    found = recorder.found
    return MutantResult(
        mutant.name, mutant.bug, mutant.breaks,
        caught=verdict is Verdict.FAIL, verdict=verdict.value,
        exit_code=finished.exit_code, examples=found.examples if found else None,
        seconds=found.seconds if found else None,
        wall_seconds=round(time.perf_counter() - started, 3),
        also_breaks=mutant.also_breaks,
        knock_ons=tuple(r for r in mutant.also_breaks if r in failed),
        surprises=tuple(r for r in failed if r not in mutant.requirements),
        unseen=tuple(r for r in mutant.also_breaks if r not in failed),
        exhaustive=exhaustive,
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
        "A mutant is caught when its primary requirement FAILs. Knock-ons are the other",
        "requirements it lists (`also_breaks`), with those that failed in this run in bold; a",
        "requirement that failed without being listed is a surprise and fails the sweep"
        + (", as does a listed knock-on that did not fail (exhaustive runs)." if header.get("exhaustive")
           else "."),
        "",
        "| mutant | bug | primary requirement | caught | knock-ons | surprises | examples to detection | seconds |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    for m in mutants:
        caught = "yes" if m.caught else f"**no** ({_cell(m.error or m.verdict)})"
        knock_ons = ", ".join(f"**`{r}`**" if r in m.knock_ons else f"`{r}`" for r in m.also_breaks)
        surprises = ", ".join(f"`{r}`" for r in m.surprises)
        if m.stale:
            surprises = ", ".join(filter(None, [surprises, f"did not fail: {', '.join(m.stale)}"]))
        lines.append(
            f"| `{m.name}` | {_cell(m.bug)} | `{m.requirement}` | {caught} | {knock_ons} | "
            f"{f'**{surprises}**' if surprises else ''} | "
            f"{'' if m.examples is None else m.examples} | "
            f"{'' if m.seconds is None else f'{m.seconds:.2f}'} |"
        )
    totals = header["totals"]
    stale = f", {totals['stale']} with stale knock-ons" if header.get("exhaustive") else ""
    lines += [
        "",
        f"**Total: {totals['caught']}/{totals['mutants']} mutants caught with their primary "
        f"requirement, {totals['surprises']} with surprises{stale}; "
        f"{totals['profiles_passing']}/{totals['profiles']} profiles pass; "
        f"wall time {totals['wall_seconds']:.1f} s.**",
        "",
    ]
    return "\n".join(lines)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m conformance.report.sweep",
        description="Run the reference adapter under every profile, then every built-in "
        "mutant, and report which mutants were caught with the requirement they break "
        "and whether any failed a requirement it does not list.",
    )
    parser.add_argument("--output", type=Path, required=True,
                        help="Markdown report to write, e.g. reports/mutants.md")  # fmt: skip
    parser.add_argument("--json", type=Path, default=None,
                        help="also write the results as JSON, e.g. reports/mutants.json")  # fmt: skip
    parser.add_argument("--exhaustive", action="store_true",
                        help="run each mutant to the end instead of stopping at its primary "
                        "requirement, so every listed knock-on must fail too (several times "
                        "slower; use it to update also_breaks)")  # fmt: skip
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point; 0 only if every profile passes and every mutant is caught, without surprises."""
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
        "exhaustive": args.exhaustive,
    }
    print(f"sweep: reference adapter under {len(PROFILES)} profiles", file=sys.stderr)
    profiles = sweep_profiles(run_settings)
    for name, code in profiles.items():
        print(f"  profile {name}: exit code {code}", file=sys.stderr)
    results = []
    for i, mutant in enumerate(MUTANTS, 1):
        result = sweep_mutant(mutant, run_settings, exhaustive=args.exhaustive)
        results.append(result)
        status = "caught" if result.ok else f"NOT OK ({result.problem()})"
        print(f"[{i}/{len(MUTANTS)}] {mutant.name}: {status} ({mutant.breaks}; "
              f"{result.examples} examples, {result.wall_seconds:.1f} s)", file=sys.stderr)  # fmt: skip
    caught = sum(r.caught for r in results)
    passing = sum(code == 0 for code in profiles.values())
    header["totals"] = {
        "mutants": len(results), "caught": caught,
        "surprises": sum(bool(r.surprises) for r in results),
        "stale": sum(bool(r.stale) for r in results), "ok": sum(r.ok for r in results),
        "profiles": len(profiles), "profiles_passing": passing,
        "wall_seconds": round(time.perf_counter() - started, 1),
    }  # fmt: skip
    ok = all(r.ok for r in results) and passing == len(profiles)
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
    print(f"sweep: {caught}/{len(results)} mutants caught, "
          f"{header['totals']['surprises']} with surprises, {passing}/{len(profiles)} profiles pass, "
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
