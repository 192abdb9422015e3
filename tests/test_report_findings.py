"""Tests for the upstream-ready findings pages (``python -m conformance.report.findings``)."""

from __future__ import annotations

import json
from pathlib import Path

from test_report_merge import base, report

from conformance.engine.expected import ExpectedFailure
from conformance.report.findings import main, render_findings

REQUIREMENT = "server.state.no-carry-over"


def test_an_sdk_deviation_becomes_a_section_with_its_reproducer() -> None:
    """An 'SDK:' entry is a numbered finding: title, rule statement, verdict, reason, reproducer."""
    data = report(base(**{REQUIREMENT: "xfail"}))
    declared = [ExpectedFailure(REQUIREMENT, "SDK: caches the last user: the next call carries it.",
                                reproducer="replay(adapter='acme', machine='server', steps=[])"),
                ExpectedFailure("server.ids.at-least-one", "API limit: one id per call.")]  # fmt: skip
    page = render_findings(data, declared)
    assert page.startswith("# Identity findings: acme-sdk 1.0")
    assert "## 1. caches the last user\n" in page
    assert "Verdict in the run: xfail" in page
    assert "violations = replay(adapter='acme', machine='server', steps=[])" in page
    assert "## Also declared (not SDK defects)" in page
    assert "API limit: one id per call." in page


def test_main_writes_one_page_per_sdk_report(tmp_path: Path) -> None:
    """Each reports/sdk-* or js-* directory gets <name>.md; other directories are left alone."""
    for name in ("sdk-acme", "js-zeta", "mutants-x"):
        (tmp_path / "reports" / name).mkdir(parents=True)
        (tmp_path / "reports" / name / "report.json").write_text(json.dumps(report(base())), encoding="utf-8")
    (tmp_path / "expected").mkdir()
    assert main(["--reports", str(tmp_path / "reports"), "--expected", str(tmp_path / "expected"),
                 "--out", str(tmp_path / "out")]) == 0  # fmt: skip
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["js-zeta.md", "sdk-acme.md"]


def test_an_incomplete_report_exits_2_naming_it(tmp_path: Path) -> None:
    """A report directory holding an incomplete report is refused, and nothing is written."""
    (tmp_path / "sdk-acme").mkdir()
    (tmp_path / "sdk-acme" / "report.json").write_text('{"format": "identity-conformance-report/1", "complete": false}',
                                                       encoding="utf-8")  # fmt: skip
    assert main(["--reports", str(tmp_path), "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()
