"""Tests for bad input to the command line: a clean exit 2 naming the value, before any run."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from conformance._cli import main
from conformance.report.matrix import main as matrix_main

BUDGET = ["--max-examples", "2", "--step-count", "5"]


def run_exit_2(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    """Run the CLI in-process, assert exit 2 without a traceback, and return stderr."""
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert "identity-conformance: adapter" not in captured.out  # the run never started
    return captured.err


def test_report_dir_that_is_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A --report-dir that is a file exits 2 naming it and saying a directory is needed."""
    path = tmp_path / "out"
    path.write_text("keep me")
    err = run_exit_2(["run", *BUDGET, "--report-dir", str(path)], capsys)
    assert f"--report-dir {str(path)!r} is a file (7 bytes), not a directory" in err
    assert path.read_text() == "keep me"


def test_report_dir_under_a_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A --report-dir below a file exits 2 naming the file in the way."""
    blocker = tmp_path / "blocker"
    blocker.write_text("")
    err = run_exit_2(["run", *BUDGET, "--report-dir", str(blocker / "a" / "b")], capsys)
    assert f"is under {str(blocker)!r}, which is a file (0 bytes), not a directory" in err


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root can write to a 0o500 directory, so there is nothing to refuse")
def test_unwritable_report_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A --report-dir this user cannot write to exits 2 saying so."""
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        err = run_exit_2(["run", *BUDGET, "--report-dir", str(locked)], capsys)
    finally:
        locked.chmod(0o700)
    assert "is not writable" in err


def test_report_json_that_is_a_directory(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A report.json inside --report-dir that is a directory exits 2 before the run, leaving the dir as it was."""
    (tmp_path / "report.json").mkdir()
    err = run_exit_2(["run", *BUDGET, "--report-dir", str(tmp_path)], capsys)
    assert f"{str(tmp_path / 'report.json')!r} in --report-dir is a directory, but the report needs a file" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json"]


@pytest.mark.parametrize("value", ["1e10", "1e-9", "nan", "0"])
def test_step_timeout_out_of_range(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    """A --step-timeout outside 0.01..86400 s exits 2 naming the value, its type and the range."""
    err = run_exit_2(["run", *BUDGET, "--step-timeout", value], capsys)
    assert "--step-timeout must be between 0.01 and 86400 seconds" in err
    assert f"(got {float(value)!r} of type float)" in err


def collector(*argv: str) -> subprocess.CompletedProcess[str]:
    """Run `collector` in a subprocess: a port that is wrongly accepted would serve forever."""
    return subprocess.run([sys.executable, "-m", "conformance._cli", "collector", *argv],
                          capture_output=True, text=True, timeout=30, check=False)  # fmt: skip


@pytest.mark.parametrize("port", ["-1", "99999", "65536"])
def test_collector_port_out_of_range(port: str) -> None:
    """`collector --port` outside 0..65535 exits 2 naming the port, its type and the range."""
    done = collector("--port", port)
    assert done.returncode == 2
    assert f"--port must be between 0 and 65535 (got {port} of type int)" in done.stderr
    assert "Traceback" not in done.stderr
    assert "listening" not in done.stdout


def test_collector_port_in_use() -> None:
    """`collector --port` on a port already bound on 127.0.0.1 exits 2 saying it is in use."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = collector("--port", str(port))
    assert done.returncode == 2
    assert f"cannot listen on 127.0.0.1 port {port} of type int" in done.stderr
    assert "pick another --port, or --port 0" in done.stderr
    assert "Traceback" not in done.stderr


def test_collector_event_line_never_fails_to_print() -> None:
    """The collector's print loop shows any event as one ASCII JSON line: lone surrogates escaped, NaN as text."""
    from conformance._cli import _event_line

    line = _event_line({"name": "a\ud800", "properties": {"n": float("nan"), "big": float("inf"),
                                                          "obj": object}})  # fmt: skip
    assert line.isascii()
    assert "\n" not in line
    data = json.loads(line)
    assert data["name"] == "a\ud800"
    assert data["properties"]["n"] == "NaN"
    assert data["properties"]["big"] == "Infinity"
    assert data["properties"]["obj"] == repr(object)


def write(tmp_path: Path, text: str | bytes) -> Path:
    """An expected-failures file holding ``text``."""
    path = tmp_path / "known.toml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def test_expected_failure_requirement_that_is_a_list(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    """An entry whose requirement is a list exits 2 naming the list, its type and one entry per id."""
    path = write(tmp_path, '[[expected]]\nrequirement = ["server.ids.at-least-one"]\nreason = "r"\n')
    err = run_exit_2(["run", *BUDGET, "--expected-failures", str(path)], capsys)
    assert "entry 0 of" in err
    assert "'requirement' must be one requirement id string (got ['server.ids.at-least-one'] of type list)" in err


def test_expected_failures_file_that_is_not_utf8(tmp_path: Path,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    """A non-UTF-8 expected-failures file exits 2 naming the file and the encoding to use."""
    path = write(tmp_path, '[[expected]]\nrequirement = "server.ids.at-least-one"\nreason = "caf\xe9"\n'.encode("latin-1"))
    err = run_exit_2(["run", *BUDGET, "--expected-failures", str(path)], capsys)
    assert f"expected-failures file {str(path)!r} is not UTF-8 text" in err
    assert "Save it as UTF-8" in err


def test_duplicate_expected_failures(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Two entries for the same requirement exit 2 naming both entry indexes."""
    entry = '[[expected]]\nrequirement = "server.ids.at-least-one"\nreason = "r"\n'
    other = '[[expected]]\nrequirement = "server.ids.exactly-as-given"\nreason = "r"\n'
    path = write(tmp_path, entry + other + entry)
    err = run_exit_2(["run", *BUDGET, "--expected-failures", str(path)], capsys)
    assert "entries 0 and 2 of" in err
    assert "both declare 'server.ids.at-least-one'" in err


def test_unknown_requirement_names_the_closest_id(tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    """An unknown requirement id exits 2 naming the closest known id."""
    path = write(tmp_path, '[[expected]]\nrequirement = "server.ids.at-least-once"\nreason = "r"\n')
    err = run_exit_2(["run", *BUDGET, "--expected-failures", str(path)], capsys)
    assert "unknown requirement 'server.ids.at-least-once' of type str" in err
    assert "Did you mean 'server.ids.at-least-one'?" in err


def test_bad_expected_failures_leave_the_report_dir_untouched(tmp_path: Path,
                                                              capsys: pytest.CaptureFixture[str]) -> None:
    """Bad input is refused before the run starts: an earlier report in --report-dir is left as it was."""
    out = tmp_path / "out"
    out.mkdir()
    (out / "report.json").write_text("earlier")
    path = write(tmp_path, '[[expected]]\nrequirement = "nope"\nreason = "r"\n')
    run_exit_2(["run", *BUDGET, "--report-dir", str(out), "--expected-failures", str(path)], capsys)
    assert (out / "report.json").read_text() == "earlier"
    assert sorted(p.name for p in out.iterdir()) == ["report.json"]


def test_matrix_refuses_an_incomplete_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The matrix exits 2 naming the directory whose report.json is only an incomplete marker."""
    (tmp_path / "report.json").write_text(json.dumps({
        "format": "identity-conformance-report/1", "complete": False,
        "started_at": "2025-01-01T00:00:00+00:00", "reason": "the run has not finished"}))
    assert matrix_main([str(tmp_path), "--output", str(tmp_path / "m.md")]) == 2
    err = capsys.readouterr().err
    assert f"the report in {str(tmp_path)!r} is incomplete (the run has not finished)" in err
    assert not (tmp_path / "m.md").exists()


def test_matrix_refuses_a_missing_report_dir(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """The matrix exits 2 naming a report directory that does not exist."""
    missing = tmp_path / "sdk-nope"
    assert matrix_main([str(missing), "--output", str(tmp_path / "m.md")]) == 2
    assert f"report directory {str(missing)!r} does not exist" in capsys.readouterr().err
