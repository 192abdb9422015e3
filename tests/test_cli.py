"""Tests for conformance._cli: commands, exit codes, reports, traces and replay."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import attrs
import jsonschema
import pytest

from conformance._cli import main
from conformance.adapters.reference import ReferenceAdapter
from conformance.collector.store import Collector

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


def test_list_prints_each_kind_as_its_plain_name(capsys: pytest.CaptureFixture[str]) -> None:
    """`list` says ``server``, ``client`` or ``both`` in its kind column, never an enum's repr."""
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert "AdapterKind" not in out
    assert any(line.split()[1:2] == ["server"] for line in out.splitlines() if line.startswith("  sdk-"))


def test_run_reference_exits_0_and_writes_a_valid_report(tmp_path: Path,
                                                         capsys: pytest.CaptureFixture[str]) -> None:
    """`run` on the reference SDK exits 0 and writes a report that matches the schema."""
    code = main(["run", "--max-examples", "30", "--report-dir", str(tmp_path)])
    assert code == 0
    report = json.loads((tmp_path / "report.json").read_text())
    jsonschema.validate(report, SCHEMA)
    assert (tmp_path / "summary.md").read_text().startswith("# Identity conformance")
    assert "exit code 0" in capsys.readouterr().out
    assert report["state_coverage"]["client"]["anonymous: identify"] > 0
    assert "| client | anonymous: identify |" in (tmp_path / "summary.md").read_text()


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


BUDGET = ["--max-examples", "2", "--step-count", "5"]


class SurrogateAdapter(ReferenceAdapter):
    """The reference SDK, with a lone surrogate added to every server event's properties."""

    def track(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
              anonymous_id: str | None) -> None:  # fmt: skip
        super().track(event, {**properties, "note": "\ud800"}, user_id=user_id, anonymous_id=anonymous_id)


def stripped_reference(collector: Collector) -> ReferenceAdapter:
    """The reference SDK declaring no capabilities, so every capability rule is skipped."""
    adapter = ReferenceAdapter(collector)
    adapter._info = attrs.evolve(adapter.info, capabilities=frozenset())
    return adapter


def test_lone_surrogate_in_an_observed_event_still_writes_a_valid_report(tmp_path: Path) -> None:
    """A run that observes an event with a lone surrogate in a property writes a complete, strict, ASCII report."""
    code = main(["run", "--adapter", "test_cli:SurrogateAdapter", *BUDGET, "--report-dir", str(tmp_path)])
    assert code == 1
    text = (tmp_path / "report.json").read_text(encoding="utf-8")
    assert text.isascii()
    assert "\\ud800" in text
    report = json.loads(text)
    jsonschema.validate(report, SCHEMA)
    assert report["complete"] is True
    assert report["exit_code"] == 1
    assert (tmp_path / "summary.md").read_text(encoding="utf-8").startswith("# Identity conformance")
    assert not [p.name for p in tmp_path.rglob("*") if p.name.endswith(".tmp")]


def test_a_new_run_marks_an_old_report_incomplete_until_it_finishes(tmp_path: Path) -> None:
    """While a run is in progress report.json says "complete": false; once it ends it is the complete report."""
    from conformance.report.writers import ReportDirWriter

    (tmp_path / "traces").mkdir()
    (tmp_path / "traces" / "old.json").write_text("{}")
    (tmp_path / "report.json").write_text('{"exit_code": 0}')
    ReportDirWriter(tmp_path).start()
    marker = json.loads((tmp_path / "report.json").read_text())
    jsonschema.validate(marker, SCHEMA)
    assert marker["complete"] is False
    assert "has not finished" in marker["reason"]
    assert "INCOMPLETE" in (tmp_path / "summary.md").read_text()
    assert list((tmp_path / "traces").iterdir()) == []


def test_require_all_warns_before_the_table_and_fails_on_a_skipped_must(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """An adapter declaring no capabilities passes, but with --require-all exits 1 with a WARNING before the table naming the skipped MUST ids."""
    budget: list[str] = []  # the default budget: a small one may leave a rule never exercised (ERROR)
    assert main(["run", "--adapter", "test_cli:stripped_reference", *budget]) == 0
    capsys.readouterr()
    code = main(["run", "--adapter", "test_cli:stripped_reference", *budget, "--require-all",
                 "--report-dir", str(tmp_path)])
    assert code == 1
    out = capsys.readouterr().out
    warnings = [line for line in out.splitlines() if line.startswith("WARNING: ")]
    assert any("client.reset.forgets-user" in w for w in warnings)
    assert out.index("WARNING: ") < out.index("  client.reset.forgets-user ")
    report = json.loads((tmp_path / "report.json").read_text())
    jsonschema.validate(report, SCHEMA)
    assert any("client.reset.forgets-user" in w for w in report["warnings"])
    summary = (tmp_path / "summary.md").read_text()
    assert summary.index("> **WARNING:**") < summary.index("| requirement |")


def test_expected_failure_for_a_skipped_requirement_is_stale(tmp_path: Path,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """An expected failure for a requirement skipped for this adapter is reported stale (xpass) and fails the run."""
    known = tmp_path / "known.toml"
    known.write_text('[[expected]]\nrequirement = "client.reset.forgets-user"\nreason = "keeps user"\n')
    code = main(["run", "--adapter", "test_cli:stripped_reference", "--max-examples", "5",
                 "--step-count", "10", "--expected-failures", str(known),
                 "--report-dir", str(tmp_path / "out")])
    assert code == 1
    assert "xpass" in capsys.readouterr().out
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    result = next(r for r in report["requirements"] if r["requirement"] == "client.reset.forgets-user")
    assert result["verdict"] == "xpass"
    assert "but skipped" in result["reason"]
    assert "remove the entry" in result["reason"]
    assert report["exit_code"] == 1


def trace_file(tmp_path: Path, steps: list[Any], *, adapter: str = "reference",
               machine: str = "client") -> Path:  # fmt: skip
    """A trace file as `run --report-dir` writes them."""
    path = tmp_path / "trace.json"
    path.write_text(json.dumps({"format": "identity-conformance-trace/1", "adapter": adapter,
                                "profile": "seed", "machine": machine, "steps": steps}))  # fmt: skip
    return path


def test_replay_never_imports_an_adapter_named_by_the_trace(tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture[str]) -> None:
    """A trace naming a module:attr adapter is refused (exit 2, pass --adapter) without importing that module."""
    planted = tmp_path / "planted.txt"
    (tmp_path / "evil_trace_module.py").write_text(
        f"open({str(planted)!r}, 'w').close()\nAdapter = None\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    path = trace_file(tmp_path, [], adapter="evil_trace_module:Adapter")
    assert main(["replay", str(path)]) == 2
    err = capsys.readouterr().err
    assert "names adapter 'evil_trace_module:Adapter' of type str" in err
    assert "--adapter evil_trace_module:Adapter" in err
    assert not planted.exists()
    assert main(["replay", str(path), "--adapter", "reference"]) == 0


@pytest.mark.parametrize(
    ("machine", "step", "message"),
    [
        ("server", {"rule": "concurrent_calls", "args": {"count": "x"}},
         "step 1 (concurrent_calls): argument 'count' must be int (got 'x' of type str)"),
        ("client", {"rule": "identify", "args": {"device": "d0", "user_id": 5, "traits": {}}},
         "step 1 (identify): argument 'user_id' must be str (got 5 of type int)"),
        ("client", {"rule": "track", "args": {"device": "d0", "name": "a", "properties": {}, "colour": 1}},
         "step 1 (track): unknown argument 'colour' = 1 of type int"),
        ("client", {"rule": "track", "args": ["d0", "a", {}]},
         "step 1 (track): 'args' must be an object of keyword arguments (got ['d0', 'a', {}] of type list)"),
        ("client", {"rule": "track", "args": {"device": "d0"}},
         "step 1 (track): missing argument(s) ['name', 'properties']"),
    ],
)
def test_replay_refuses_steps_with_wrong_arguments(tmp_path: Path, machine: str, step: dict[str, Any],
                                                   message: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A trace step with a wrong argument type, an unknown name or non-object args exits 2 naming the step, argument, value and type."""
    first = ({"rule": "track", "args": {"device": "d0", "name": "a", "properties": {}}} if machine == "client"
             else {"rule": "track_without_ids", "args": {"name": "a"}})  # fmt: skip
    path = trace_file(tmp_path, [first, step], machine=machine)
    assert main(["replay", str(path)]) == 2
    captured = capsys.readouterr()
    assert message in captured.err
    assert "violation(s)" not in captured.out


def test_collector_down_with_an_unknown_fault_exits_2_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    """`collector --down 418` is refused before anything listens: exit 2, naming the value and the choices."""
    with pytest.raises(SystemExit) as exited:
        main(["collector", "--down", "418"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "'418'" in err
    assert "503" in err


@pytest.mark.parametrize(("argv", "named"), [
    (["--down", "503", "--answer-after", "3"], "needs --down slow"),
    (["--answer-after", "3"], "needs --down slow"),
    (["--down", "slow", "--answer-after", "0"], "0.0 of type float"),
    (["--down", "slow", "--answer-after", "500"], "at most 120"),
])  # fmt: skip
def test_collector_answer_after_is_for_slow_answers_in_range_or_exit_2(
    argv: list[str], named: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`collector --answer-after S` needs `--down slow` and 0 < S <= 120; otherwise exit 2 naming the problem."""
    assert main(["collector", *argv]) == 2
    assert named in capsys.readouterr().err
