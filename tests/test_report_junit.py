"""Tests for conformance.report.junit and `run --junit`: one test case per requirement, strict XML."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from conformance._cli import main
from conformance._violations import Violation
from conformance.adapters.protocol import AdapterInfo, AdapterKind
from conformance.engine.events import RequirementResult, RunFinished, Verdict
from conformance.report.junit import JUnitWriter, junit_xml


def finished(*results: RequirementResult) -> RunFinished:
    """A RunFinished event with the given results."""
    info = AdapterInfo(name="acme", kind=AdapterKind.SERVER, profile="seed", sdk_name="acme-sdk", sdk_version="1.0")
    return RunFinished(info=info, profile="seed", results=results, exit_code=1, seconds=1.5,
                       provenance={"datetime": "2026-01-01T00:00:00+00:00", "tool_version": "0.1.0"},
                       rule_counts={})  # fmt: skip


HOSTILE = 'bad \x00\x1b\x0b \ud800 \ufffe ]]> </failure> & "quote" \r\n next'


def test_every_verdict_maps_to_junit_and_the_counts_add_up() -> None:
    """FAIL/XPASS are failures, ERROR an error, SKIP/XFAIL skipped, with reason, violations and reproducer."""
    violation = Violation("server.ids.at-least-one", "no id", expected="u1", observed=None, step=1)
    event = finished(
        RequirementResult("server.ids.exactly-as-given", "MUST", Verdict.PASS, checks=3),
        RequirementResult("server.ids.at-least-one", "MUST", Verdict.FAIL, reason="an event lost its ids",
                          violations=(violation,), reproducer="print('repro')"),
        RequirementResult("server.state.no-carry-over", "MUST", Verdict.ERROR, reason="adapter hung"),
        RequirementResult("server.threads.isolated", "MUST", Verdict.SKIP, reason="no capability"),
        RequirementResult("server.ids.both-link", "SHOULD", Verdict.XFAIL, reason="expected failure: known"),
        RequirementResult("delivery.exactly-once", "MUST", Verdict.XPASS, reason="stale expected failure"),
    )  # fmt: skip
    root = ET.fromstring(junit_xml(event))  # noqa: S314  (our own output)
    suite = root.find("testsuite")
    assert suite is not None
    assert {k: suite.get(k) for k in ("tests", "failures", "errors", "skipped", "time")} == {
        "tests": "6", "failures": "2", "errors": "1", "skipped": "2", "time": "1.5"}  # fmt: skip
    cases = {c.get("name"): c for c in suite.iter("testcase")}
    assert {c.get("classname") for c in cases.values()} == {"identity-conformance.acme"}
    assert list(cases["server.ids.exactly-as-given"]) == []
    failure = cases["server.ids.at-least-one"].find("failure")
    assert failure is not None
    assert failure.get("message") == "an event lost its ids"
    assert "server.ids.at-least-one: " in (failure.text or "")
    assert "expected: 'u1'" in (failure.text or "")
    assert "print('repro')" in (failure.text or "")
    error = cases["server.state.no-carry-over"].find("error")
    assert error is not None
    assert error.get("message") == "adapter hung"
    skipped = cases["server.threads.isolated"].find("skipped")
    assert skipped is not None
    assert skipped.get("message") == "no capability"
    xfail = cases["server.ids.both-link"].find("skipped")
    assert xfail is not None
    assert xfail.get("message") == "expected failure: known"
    assert cases["delivery.exactly-once"].find("failure") is not None


def test_control_characters_and_lone_surrogates_never_break_the_xml(tmp_path: Path) -> None:
    """Text XML cannot hold is replaced by a visible escape; markup in text stays text; the file parses."""
    violation = Violation("server.ids.at-least-one", HOSTILE, expected=HOSTILE, observed={"k": HOSTILE})
    event = finished(RequirementResult("server.ids.at-least-one", "MUST", Verdict.FAIL, reason=HOSTILE,
                                       violations=(violation,), reproducer=HOSTILE))  # fmt: skip
    writer = JUnitWriter(tmp_path / "sub" / "junit.xml")
    writer.start()
    writer.handle_event(event)
    writer.shutdown()
    data = (tmp_path / "sub" / "junit.xml").read_bytes()
    data.decode("utf-8")  # strict: no surrogate made it into the file
    failure = ET.fromstring(data).find("testsuite/testcase/failure")  # noqa: S314
    assert failure is not None
    message = failure.get("message") or ""
    for escape in ("\\x00", "\\x1b", "\\x0b", "\\ud800", "\\ufffe"):
        assert escape in message
    assert ']]> </failure> & "quote" \r\n next' in message  # attribute whitespace kept as references
    assert "</failure> &" in (failure.text or "")
    assert not [p.name for p in tmp_path.rglob("*.tmp")]


def test_start_replaces_an_old_file_with_an_incomplete_marker(tmp_path: Path) -> None:
    """Until the run finishes the file holds one ERROR test case, never an old passing result."""
    path = tmp_path / "junit.xml"
    path.write_text("<testsuites/>")
    JUnitWriter(path).start()
    suite = ET.fromstring(path.read_text()).find("testsuite")  # noqa: S314
    assert suite is not None
    assert suite.get("errors") == "1"
    error = suite.find("testcase/error")
    assert error is not None
    assert "INCOMPLETE" in (error.get("message") or "")


def test_run_junit_writes_one_testcase_per_requirement(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`run --junit` (a mutant, tiny budget) writes one test case per requirement; counts match the elements."""
    path = tmp_path / "out" / "junit.xml"
    code = main(["run", "--adapter", "mutant-reset-keeps-user", "--max-examples", "2", "--step-count", "8",
                 "--junit", str(path)])  # fmt: skip
    assert code == 1
    assert f"JUnit XML written to {path}" in capsys.readouterr().out
    suite = ET.fromstring(path.read_text(encoding="utf-8")).find("testsuite")  # noqa: S314
    assert suite is not None
    cases = suite.findall("testcase")
    assert len({c.get("name") for c in cases}) == len(cases) == int(suite.get("tests") or 0) >= 20
    for tag, count in (("failure", "failures"), ("error", "errors"), ("skipped", "skipped")):
        assert len(suite.findall(f"testcase/{tag}")) == int(suite.get(count) or 0)
    assert int(suite.get("failures") or 0) + int(suite.get("errors") or 0) >= 1
    assert suite.get("name") == "identity-conformance.mutant-reset-keeps-user"


@pytest.mark.parametrize("where", ["directory", "under-a-file"])
def test_bad_junit_path_exits_2_before_the_run(tmp_path: Path, where: str,
                                                capsys: pytest.CaptureFixture[str]) -> None:  # fmt: skip
    """A --junit that is a directory, or under a file, is refused with exit 2 before anything runs."""
    (tmp_path / "file").write_text("x")
    path = tmp_path if where == "directory" else tmp_path / "file" / "junit.xml"
    assert main(["run", "--junit", str(path)]) == 2
    captured = capsys.readouterr()
    assert "--junit" in captured.err
    assert ("a directory, not a file" if where == "directory" else "which is a file") in captured.err
    assert "identity-conformance: adapter" not in captured.out  # the run never started
