"""Tests for docs/ci/github-actions.yml: the workflow vendors copy runs as written."""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import pytest

from conformance._cli import main
from conformance.mutants import MUTANTS

WORKFLOW = Path(__file__).resolve().parent.parent / "docs" / "ci" / "github-actions.yml"
ADAPTER_PLACEHOLDER = "mysdk.testing:ConformanceAdapter"


def suite_commands(text: str) -> list[list[str]]:
    """The `identity-conformance ...` commands of the workflow's `run:` steps, as argv lists."""
    commands, block, indent = [], [], None
    lines = [*text.splitlines(), ""]
    for line in lines:
        stripped = line.strip()
        if indent is not None and (not stripped or len(line) - len(line.lstrip()) >= indent):
            block.append(stripped)
            continue
        if indent is not None:
            commands += _split(" ".join(block).replace("\\ ", " "))
            block, indent = [], None
        if stripped.startswith("run: |"):
            indent = len(line) - len(line.lstrip()) + 2
        elif stripped.startswith("run: "):
            commands += _split(stripped.removeprefix("run: "))
    return [c for c in commands if c and c[0] == "identity-conformance"]


def _split(script: str) -> list[list[str]]:
    return [shlex.split(part) for part in script.split(" && ") if part.strip()]


def test_the_workflow_runs_the_suite_and_merges_its_reports(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:  # fmt: skip
    """Its steps, run here with a mutant as the vendor's adapter: the job fails on the new MUST failure, saves it in the example database and leaves the artefacts it uploads; the merge job builds the matrix."""
    mutant = next(m for m in MUTANTS if m.name == "mutant-reset-keeps-user")
    commands = suite_commands(WORKFLOW.read_text(encoding="utf-8"))
    assert [c[:2] for c in commands] == [["identity-conformance", "run"], ["identity-conformance", "report"]]
    monkeypatch.chdir(tmp_path)
    Path("conformance").mkdir()
    Path("conformance/expected-failures.toml").write_text("# no known deviations yet\n")
    run = [mutant.name if arg == ADAPTER_PLACEHOLDER else arg for arg in commands[0][1:]]
    assert main([*run, "--max-examples", "30"]) == 1  # a smaller budget: the steps are the point
    assert Path("results/junit.xml").is_file()
    assert Path("results/report/report.json").is_file()
    assert any(Path(".hypothesis/conformance").rglob("*")), "the failure was not saved for the next job"
    # download-artifact puts each job's results/ under jobs/<artifact name>/
    shutil.copytree("results", "jobs/conformance-3.13")
    merge = [str(p) for p in Path().glob("jobs/*/report/report.json")]
    argv = commands[1][1:]
    at = argv.index("jobs/*/report/report.json")
    assert main([*argv[:at], *merge, *argv[at + 1:]]) == 0
    assert {p.name for p in Path("merged").iterdir()} >= {"matrix.md", "matrix.html", "merged.json"}
