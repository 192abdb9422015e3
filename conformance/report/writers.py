"""Report writers: handlers that turn engine events into files and console lines.

Left out of reports on purpose: write keys and API keys (never given to the engine), and
raw request bodies (they may hold user traits; the collector keeps them in memory only).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
from pathlib import Path
from typing import IO, Any

import attrs

from conformance.engine.events import (
    AdapterErrored,
    Event,
    ProgressReported,
    RequirementResult,
    RunFinished,
    RunStarted,
    Verdict,
    ViolationFound,
)
from conformance.report.live import LiveLine, live_wanted

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
        "complete": True,
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
        "warnings": list(finished.warnings),
        "rule_counts": finished.rule_counts,
        "state_coverage": finished.state_coverage,
        "requirements": [result_to_json(r) for r in finished.results],
    }


INCOMPLETE_SUMMARY = """\
# INCOMPLETE: no verdict

An identity-conformance run started writing to this directory at {started} and has not
finished, or it ended without a verdict (interrupted, killed, or an adapter ended the
process). Nothing here is a result. Run `identity-conformance run --report-dir` again.
"""


def incomplete_report(started: str, reason: str) -> dict[str, Any]:
    """``report.json`` while a run is in progress, and after one that ended without a verdict."""
    return {"format": REPORT_FORMAT, "complete": False, "started_at": started, "reason": reason}


@attrs.define
class ReportDirWriter:
    """Writes ``report.json``, ``summary.md`` and one trace per failing requirement.

    At start, whatever an earlier run left is replaced by an incomplete marker
    (``report.json`` with ``"complete": false`` and a reason, an INCOMPLETE ``summary.md``;
    old traces are removed), so a run that dies leaves nothing that claims a verdict. Only
    a finished run writes the complete report: each file is serialized in memory first,
    then written atomically (temporary file, fsync, rename).
    """

    directory: Path

    def start(self) -> None:
        """Create the directory and mark it incomplete until the run finishes."""
        self.directory.mkdir(parents=True, exist_ok=True)
        traces = self.directory / "traces"
        traces.mkdir(exist_ok=True)
        started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        reason = (f"the run started at {started} has not finished, or it ended without a "
                  "verdict (interrupted, killed, or an adapter ended the process)")  # fmt: skip
        write_atomic(self.directory / "report.json", dumps_json(incomplete_report(started, reason)))
        write_atomic(self.directory / "summary.md", INCOMPLETE_SUMMARY.format(started=started))
        for old in traces.glob("*.json"):
            old.unlink()

    def handle_event(self, event: Event) -> None:
        """Once the run finished, write the traces, then report.json, then summary.md."""
        if not isinstance(event, RunFinished):
            return
        report = dumps_json(report_to_json(event))
        summary = markdown_summary(event)
        traces = {
            f"{result.requirement}.json": dumps_json(result.trace)
            for result in event.results
            if result.trace is not None and result.verdict in (Verdict.FAIL, Verdict.XFAIL)
        }
        for name, text in traces.items():
            write_atomic(self.directory / "traces" / name, text)
        write_atomic(self.directory / "report.json", report)
        write_atomic(self.directory / "summary.md", summary)

    def shutdown(self) -> None:
        """Nothing to release."""


def json_safe(data: Any) -> Any:
    """``data`` with NaN and infinities as strings (``"NaN"``, ``"Infinity"``), for strict JSON."""
    if isinstance(data, float) and not math.isfinite(data):
        return "NaN" if math.isnan(data) else ("Infinity" if data > 0 else "-Infinity")
    if isinstance(data, dict):
        return {k: json_safe(v) for k, v in data.items()}
    if isinstance(data, (list, tuple)):
        return [json_safe(v) for v in data]
    return data


def dumps_json(data: Any) -> str:
    """Strict JSON that always encodes: ASCII only (lone surrogates escaped), no NaN/Infinity.

    A value that JSON has no type for is written as its ``repr``.
    """
    text = json.dumps(json_safe(data), indent=2, ensure_ascii=True, allow_nan=False, default=repr)
    return text + "\n"


def write_atomic(path: Path, text: str) -> None:
    """Replace ``path`` with ``text`` in one step; never leave a partial or temporary file."""
    data = text.encode("utf-8", "backslashreplace")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with tmp.open("wb") as stream:
            stream.write(data)
            stream.flush()
            os.fsync(stream.fileno())
        tmp.replace(path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


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
        *[f"> **WARNING:** {w}\n" for w in finished.warnings],
        "| requirement | level | verdict | checks | note |",
        "|---|---|---|---|---|",
    ]
    for r in finished.results:
        note = r.reason.replace("|", "\\|").replace("\n", " ")[:160]
        lines.append(f"| `{r.requirement}` | {r.level} | {_MARK[r.verdict]} | {r.checks} | {note} |")
    for r in finished.results:
        if r.reproducer and r.verdict is not Verdict.PASS:
            lines += ["", f"## {r.requirement}", "", "```python", r.reproducer.rstrip(), "```"]
    lines += state_coverage_lines(finished.state_coverage)
    return "\n".join(lines) + "\n"


def state_coverage_lines(coverage: dict[str, dict[str, int]]) -> list[str]:
    """The state coverage as Markdown: per machine, each state and step from it, and how often."""
    if not coverage:
        return []
    lines = ["", "## State coverage", "",
             "Which identity states each machine reached, what it did from each, and how often.",
             "", "| machine | state: step | times |", "|---|---|---|"]  # fmt: skip
    for machine, counts in coverage.items():
        lines += [f"| {machine} | {key.replace('|', chr(92) + '|')} | {n} |" for key, n in counts.items()]
    return lines


@attrs.define
class ConsoleWriter:
    """Progress and a verdict table on a text stream (the CLI's output).

    With ``live`` the progress is one redrawn line (:mod:`conformance.report.live`) instead
    of a plain line every 500 steps; :func:`console_writer` turns it on for a terminal.
    """

    stream: IO[str]
    verbose: bool = False
    live: bool = False
    _line: LiveLine | None = None

    def start(self) -> None:
        """Nothing to prepare."""

    def handle_event(self, event: Event) -> None:
        """Print a line per interesting event."""
        out = _SafeStream(self.stream)
        if isinstance(event, RunStarted):
            settings = ", ".join(f"{k}={v}" for k, v in event.settings.items())
            print(f"identity-conformance: adapter {event.info.name!r} ({event.info.sdk_name} "
                  f"{event.info.sdk_version}), profile {event.profile!r}, {settings}", file=out, flush=True)
            if self.live:
                self._line = LiveLine(self.stream)
                self._line.start()
        elif isinstance(event, ProgressReported):
            if self._line is not None:
                self._line.progress(event.machine, event.steps, event.examples)
            else:
                print(f"  ... {event.machine}: {event.steps} steps, {event.examples} examples", file=out, flush=True)
        elif isinstance(event, ViolationFound):
            found = sorted({v.requirement for v in event.violations})
            self._say(f"  found in the {event.machine} machine: {', '.join(found)}")
            if self._line is not None:
                self._line.found(set(found))
        elif isinstance(event, AdapterErrored):
            self._say(f"  ERROR in the {event.machine} machine: {event.message}")
        elif isinstance(event, RunFinished):
            self._stop_line()
            self._table(event)

    def _say(self, text: str) -> None:
        if self._line is not None:
            self._line.print(text)
        else:
            print(text, file=_SafeStream(self.stream), flush=True)

    def _stop_line(self) -> None:
        if self._line is not None:
            self._line.stop()
            self._line = None

    def _table(self, event: RunFinished) -> None:
        out = _SafeStream(self.stream)
        for warning in event.warnings:
            print(f"WARNING: {warning}", file=out)
        width = max(len(r.requirement) for r in event.results)
        for r in event.results:
            reason = f"  {r.reason[:100]}" if r.reason and r.verdict is not Verdict.PASS else ""
            print(f"  {r.requirement:<{width}}  {r.level:<6}  {r.verdict.value:<5}{reason}", file=out)
        counts: dict[str, int] = {}
        for r in event.results:
            counts[r.verdict.value] = counts.get(r.verdict.value, 0) + 1
        summary = ", ".join(f"{n} {v}" for v, n in sorted(counts.items()))
        print(f"{summary} in {event.seconds} s; exit code {event.exit_code}", file=out)
        # Every failing requirement's own reproducer, MUST first; one shared by several is shown once.
        failing = sorted((r for r in event.results
                          if r.verdict in (Verdict.FAIL, Verdict.ERROR) and r.reproducer),
                         key=lambda r: r.level != "MUST")  # fmt: skip
        shown: dict[str, list[str]] = {}
        for r in failing:
            shown.setdefault(r.reproducer or "", []).append(r.requirement)
        for reproducer, requirements in shown.items():
            print(f"\nReproducer for {', '.join(requirements)}:\n{reproducer}", file=out)
        out.flush()

    def shutdown(self) -> None:
        """Remove a live line the run left (it ended without a verdict); flush the stream."""
        self._stop_line()
        self.stream.flush()


def console_writer(stream: IO[str]) -> ConsoleWriter:
    """The console output for ``stream``: a live progress line on a terminal, plain lines elsewhere."""
    return ConsoleWriter(stream, live=live_wanted(stream))


@attrs.define
class _SafeStream:
    """Writes text the stream's encoding cannot hold (a lone surrogate) as backslash escapes."""

    stream: IO[str]

    def write(self, text: str) -> int:
        encoding = getattr(self.stream, "encoding", None) or "utf-8"
        try:
            text.encode(encoding)
        except UnicodeEncodeError:
            text = text.encode(encoding, "backslashreplace").decode(encoding)
        return self.stream.write(text)

    def flush(self) -> None:
        self.stream.flush()
