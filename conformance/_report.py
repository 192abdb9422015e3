"""Report writers: handlers that turn engine events into files and console lines.

Left out of reports on purpose: write keys and API keys (never given to the engine), and
raw request bodies (they may hold user traits; the collector keeps them in memory only).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import IO, Any

import attrs

from conformance._events import (
    AdapterErrored,
    Event,
    ProgressReported,
    RequirementResult,
    RunFinished,
    RunStarted,
    Verdict,
    ViolationFound,
)

REPORT_FORMAT = "identity-conformance-report/1"


def result_to_json(result: RequirementResult) -> dict[str, Any]:
    """One requirement's verdict as JSON."""
    return {
        "requirement": result.requirement,
        "level": result.level,
        "verdict": result.verdict.value,
        "reason": result.reason,
        "checks": result.checks,
        "violations": [v.to_json() for v in result.violations],
        "reproducer": result.reproducer,
    }


def report_to_json(finished: RunFinished) -> dict[str, Any]:
    """The whole report; its shape is ``reports/report.schema.json``."""
    counts: dict[str, int] = {}
    for result in finished.results:
        counts[result.verdict.value] = counts.get(result.verdict.value, 0) + 1
    return {
        "format": REPORT_FORMAT,
        "provenance": finished.provenance,
        "adapter": {
            "name": finished.info.name,
            "kind": finished.info.kind.value,
            "sdk_name": finished.info.sdk_name,
            "sdk_version": finished.info.sdk_version,
            "capabilities": sorted(finished.info.capabilities),
        },
        "profile": finished.profile,
        "exit_code": finished.exit_code,
        "seconds": finished.seconds,
        "summary": counts,
        "rule_counts": finished.rule_counts,
        "requirements": [result_to_json(r) for r in finished.results],
    }


@attrs.define
class ReportDirWriter:
    """Writes ``report.json``, ``summary.md`` and one trace per failing requirement."""

    directory: Path

    def start(self) -> None:
        """Create the directory."""
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / "traces").mkdir(exist_ok=True)

    def handle_event(self, event: Event) -> None:
        """Write everything once the run finished."""
        if not isinstance(event, RunFinished):
            return
        _write_json(self.directory / "report.json", report_to_json(event))
        (self.directory / "summary.md").write_text(markdown_summary(event), encoding="utf-8")
        for result in event.results:
            if result.trace is not None and result.verdict in (Verdict.FAIL, Verdict.XFAIL):
                _write_json(self.directory / "traces" / f"{result.requirement}.json", result.trace)

    def shutdown(self) -> None:
        """Nothing to release."""


def _write_json(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, sort_keys=False, ensure_ascii=False) + "\n",
                   encoding="utf-8")  # fmt: skip
    tmp.replace(path)  # never leave a half-written report


_MARK = {
    Verdict.PASS: "pass", Verdict.FAIL: "**FAIL**", Verdict.SKIP: "skip",
    Verdict.ERROR: "**ERROR**", Verdict.XFAIL: "xfail", Verdict.XPASS: "**XPASS**",
}  # fmt: skip


def markdown_summary(finished: RunFinished) -> str:
    """A short Markdown summary for CI job pages."""
    info, prov = finished.info, finished.provenance
    lines = [
        f"# Identity conformance: {info.name} ({info.sdk_name} {info.sdk_version})",
        "",
        f"Profile `{finished.profile}`, exit code {finished.exit_code}, {finished.seconds} s, "
        f"identity-conformance {prov.get('tool_version')}, {prov.get('datetime')}.",
        "",
        "| requirement | level | verdict | checks | note |",
        "|---|---|---|---|---|",
    ]
    for r in finished.results:
        note = r.reason.replace("|", "\\|").replace("\n", " ")[:160]
        lines.append(f"| `{r.requirement}` | {r.level} | {_MARK[r.verdict]} | {r.checks} | {note} |")
    for r in finished.results:
        if r.reproducer and r.verdict is not Verdict.PASS:
            lines += ["", f"## {r.requirement}", "", "```python", r.reproducer.rstrip(), "```"]
    return "\n".join(lines) + "\n"


@attrs.define
class ConsoleWriter:
    """Progress and a verdict table on a text stream (the CLI's output)."""

    stream: IO[str]
    verbose: bool = False

    def start(self) -> None:
        """Nothing to prepare."""

    def handle_event(self, event: Event) -> None:
        """Print a line per interesting event."""
        out = self.stream
        if isinstance(event, RunStarted):
            settings = ", ".join(f"{k}={v}" for k, v in event.settings.items())
            print(f"identity-conformance: adapter {event.info.name!r} ({event.info.sdk_name} "
                  f"{event.info.sdk_version}), profile {event.profile!r}, {settings}", file=out)
        elif isinstance(event, ProgressReported):
            print(f"  ... {event.machine}: {event.steps} steps, {event.examples} examples", file=out)
        elif isinstance(event, ViolationFound):
            found = sorted({v.requirement for v in event.violations})
            print(f"  found in the {event.machine} machine: {', '.join(found)}", file=out)
        elif isinstance(event, AdapterErrored):
            print(f"  ERROR in the {event.machine} machine: {event.message}", file=out)
        elif isinstance(event, RunFinished):
            self._table(event)

    def _table(self, event: RunFinished) -> None:
        out = self.stream
        width = max(len(r.requirement) for r in event.results)
        for r in event.results:
            reason = f"  {r.reason[:100]}" if r.reason and r.verdict is not Verdict.PASS else ""
            print(f"  {r.requirement:<{width}}  {r.level:<6}  {r.verdict.value:<5}{reason}", file=out)
        counts: dict[str, int] = {}
        for r in event.results:
            counts[r.verdict.value] = counts.get(r.verdict.value, 0) + 1
        summary = ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
        print(f"{summary} in {event.seconds} s; exit code {event.exit_code}", file=out)
        failing = [r for r in event.results if r.verdict in (Verdict.FAIL, Verdict.ERROR) and r.reproducer]
        if failing:
            print(f"\nReproducer for {failing[0].requirement}:\n{failing[0].reproducer}", file=out)

    def shutdown(self) -> None:
        """Flush the stream."""
        self.stream.flush()
