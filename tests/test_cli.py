"""Tests for conformance._cli: commands, exit codes, reports, traces and replay."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from conformance._cli import main

SCHEMA = json.loads((Path(__file__).parent.parent / "reports" / "report.schema.json").read_text())


def test_requirements_json_lists_at_least_20_rules(capsys: pytest.CaptureFixture[str]) -> None:
    """`requirements --json` lists every rule with id, level, statement, core flag and source."""
    assert main(["requirements", "--json"]) == 0
    rules = json.loads(capsys.readouterr().out)
    assert len(rules) >= 20
    for rule in rules:
        assert {"id", "level", "statement", "core", "source"} <= set(rule)
        assert rule["level"] in {"MUST", "SHOULD", "MAY"}


def test_list_json_marks_mutants(capsys: pytest.CaptureFixture[str]) -> None:
    """`list --json` shows the reference adapter and mutants flagged as such, and the profiles."""
    assert main(["list", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    names = {a["name"]: a for a in data["adapters"]}
    assert names["reference"]["mutant"] is False
    assert any(a["mutant"] and a["expected_violation"] for a in data["adapters"])
    assert "seed" in data["profiles"]


def test_run_reference_exits_0_and_writes_a_valid_report(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """`run` on the reference SDK exits 0 and writes a report that matches the schema."""
    code = main(["run", "--max-examples", "10", "--report-dir", str(tmp_path)])
    assert code == 0
    report = json.loads((tmp_path / "report.json").read_text())
    jsonschema.validate(report, SCHEMA)
    assert (tmp_path / "summary.md").read_text().startswith("# Identity conformance")
    assert "exit code 0" in capsys.readouterr().out


def test_failure_trace_replays_to_the_same_violation(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """A trace written for a failing requirement replays with `replay` to that requirement."""
    code = main(["run", "--adapter", "mutant-reset-keeps-user", "--fail-fast",
                 "--report-dir", str(tmp_path)])
    assert code == 1
    report = json.loads((tmp_path / "report.json").read_text())
    jsonschema.validate(report, SCHEMA)
    trace = tmp_path / "traces" / "client.reset.forgets-user.json"
    capsys.readouterr()
    assert main(["replay", str(trace)]) == 1
    assert "client.reset.forgets-user" in capsys.readouterr().out


def test_printed_reproducer_is_runnable_python(tmp_path: Path) -> None:
    """The Python reproducer in the report runs as-is and reports the violation."""
    main(["run", "--adapter", "mutant-reset-keeps-user", "--fail-fast",
          "--report-dir", str(tmp_path)])
    report = json.loads((tmp_path / "report.json").read_text())
    source = next(r["reproducer"] for r in report["requirements"]
                  if r["requirement"] == "client.reset.forgets-user")
    namespace: dict[str, object] = {"print": lambda *a, **k: None}
    exec(compile(source, "reproducer", "exec"), namespace)  # noqa: S102
    assert any(v.requirement == "client.reset.forgets-user" for v in namespace["violations"])  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["run", "--adapter", "no-such-adapter"], "unknown adapter 'no-such-adapter' of type str"),
        (["run", "--profile", "nope"], "unknown profile 'nope' of type str"),
        (["run", "--max-examples", "0"], "max_examples must be a positive int (got 0 of type int)"),
        (["run", "--adapter", "nomodule_xyz:Thing"], "cannot load adapter 'nomodule_xyz:Thing'"),
    ],
)
def test_usage_errors_exit_2_and_name_the_bad_value(argv: list[str], message: str,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    """Bad options exit 2 with a message naming the value, its type and what to do."""
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_bad_trace_file_is_a_usage_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`replay` on a file that is not a trace exits 2 and says what to pass instead."""
    bad = tmp_path / "x.json"
    bad.write_text('{"hello": 1}')
    assert main(["replay", str(bad)]) == 2
    assert "not an identity-conformance trace" in capsys.readouterr().err


def test_bad_expected_failures_file_is_a_usage_error(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """An expected-failures entry with an unknown requirement id exits 2 naming the id."""
    bad = tmp_path / "x.toml"
    bad.write_text('[[expected]]\nrequirement = "client.nope"\nreason = "x"\n')
    assert main(["run", "--expected-failures", str(bad)]) == 2
    assert "unknown requirement 'client.nope' of type str" in capsys.readouterr().err


def test_no_command_prints_help_and_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """Running with no command shows the help, including exit codes and examples."""
    assert main([]) == 2
    out = capsys.readouterr().out
    assert "exit codes" in out
    assert "identity-conformance run" in out
