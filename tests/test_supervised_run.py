"""Tests for the supervised ``identity-conformance run`` (conformance._cli.console_main).

The adapters below are loaded by the child process as ``test_supervised_run:NAME``, with
this directory on ``PYTHONPATH``.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import attrs
import pytest

from conformance.adapters.protocol import AdapterKind
from conformance.adapters.reference import ReferenceAdapter
from conformance.collector.store import Collector

HERE = Path(__file__).parent
SCRIPT = Path(sys.executable).parent / "identity-conformance"
BUDGET = ["--max-examples", "5", "--step-count", "10"]
EXIT_ON_TRACK = 3
"""The server ``track`` call on which :class:`ExitingAdapter` ends the process."""


class ExitingAdapter:
    """The reference SDK as a server SDK whose ``track`` calls ``os._exit(0)`` on its Nth call."""

    def __init__(self, collector: Collector) -> None:
        self.reference = ReferenceAdapter(collector)
        self.info = attrs.evolve(self.reference.info, kind=AdapterKind.SERVER)
        self.tracks = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self.reference, name)

    def track(self, *args: Any, **kwargs: Any) -> None:
        self.tracks += 1
        if self.tracks == EXIT_ON_TRACK:
            os._exit(0)
        self.reference.track(*args, **kwargs)


def lingering_thread_adapter(collector: Collector) -> ReferenceAdapter:
    """The reference SDK, after starting a non-daemon thread that sleeps (almost) forever."""
    threading.Thread(target=time.sleep, args=(10**6,), name="left-behind", daemon=False).start()
    return ReferenceAdapter(collector)


def console(*argv: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    """Run the installed console script with this directory importable."""
    if not SCRIPT.exists():
        pytest.skip(f"console script not installed next to {sys.executable}")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    return subprocess.run([str(SCRIPT), *argv], capture_output=True, text=True, timeout=timeout,
                          env=env, check=False)  # fmt: skip


def test_adapter_calling_os_exit_exits_1_and_says_no_verdict(tmp_path: Path) -> None:
    """An adapter that calls os._exit(0) mid-run makes `run` exit 1 saying the run ended without a verdict."""
    done = console("run", "--adapter", "test_supervised_run:ExitingAdapter", *BUDGET)
    assert done.returncode == 1, done.stderr
    assert "the run ended without a verdict" in done.stderr
    assert "exited with status 0" in done.stderr
    assert "os._exit" in done.stderr
    assert "Traceback" not in done.stderr


def test_dead_run_replaces_a_stale_report_with_an_incomplete_marker(tmp_path: Path) -> None:
    """A run that dies leaves report.json saying incomplete, and no summary or trace claiming a verdict."""
    (tmp_path / "traces").mkdir()
    (tmp_path / "report.json").write_text(json.dumps(
        {"format": "identity-conformance-report/1", "exit_code": 0, "requirements": []}))
    (tmp_path / "summary.md").write_text("# Identity conformance: reference\n\nexit code 0\n")
    (tmp_path / "traces" / "client.reset.forgets-user.json").write_text("{}")
    done = console("run", "--adapter", "test_supervised_run:ExitingAdapter", *BUDGET,
                   "--report-dir", str(tmp_path))
    assert done.returncode == 1, done.stderr
    assert "incomplete" in done.stderr
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["complete"] is False
    assert "exit_code" not in report
    assert "requirements" not in report
    assert "INCOMPLETE" in (tmp_path / "summary.md").read_text()
    assert list((tmp_path / "traces").iterdir()) == []
    assert not [p.name for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


def test_non_daemon_thread_left_by_adapter_does_not_keep_the_run_alive() -> None:
    """A run whose adapter leaves a non-daemon thread sleeping still exits promptly with its verdict."""
    started = time.monotonic()
    done = console("run", "--adapter", "test_supervised_run:lingering_thread_adapter", *BUDGET,
                   timeout=60)
    assert time.monotonic() - started < 60
    assert "exit code" in done.stdout
    assert done.returncode in (0, 1)
    assert "without a verdict" not in done.stderr


def test_supervised_run_passes_the_childs_output_and_exit_code_through(tmp_path: Path) -> None:
    """The supervised run prints the child's table and exits with its exit code, writing a complete report."""
    done = console("run", *BUDGET, "--report-dir", str(tmp_path))
    assert "exit code" in done.stdout
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["complete"] is True
    assert done.returncode == report["exit_code"]


def test_usage_error_is_reported_without_starting_a_run() -> None:
    """Under supervision a bad option still exits 2 with a message and no traceback."""
    done = console("run", "--step-timeout", "1e10")
    assert done.returncode == 2
    assert "--step-timeout must be between 0.01 and 86400 seconds" in done.stderr
    assert "Traceback" not in done.stderr


class SlowAdapter(ReferenceAdapter):
    """The reference SDK whose server ``track`` takes half a second."""

    def track(self, *args: Any, **kwargs: Any) -> None:
        time.sleep(0.5)
        super().track(*args, **kwargs)


def test_sigterm_is_forwarded_to_the_child_and_the_run_has_no_verdict(tmp_path: Path) -> None:
    """SIGTERM to `run` reaches the child; the run exits 143 saying it was interrupted, with the report dir marked incomplete."""
    if not SCRIPT.exists():
        pytest.skip(f"console script not installed next to {sys.executable}")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(HERE), os.environ.get("PYTHONPATH", "")])}
    proc = subprocess.Popen([str(SCRIPT), "run", "--adapter", "test_supervised_run:SlowAdapter",
                             "--max-examples", "50", "--report-dir", str(tmp_path)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)  # fmt: skip
    try:
        assert proc.stdout is not None
        first: list[str] = []  # read the first line without ever blocking the test run
        reader = threading.Thread(target=lambda: first.append(proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(30)
        assert first, "the run printed nothing within 30 s (is its output buffered?)"
        assert first[0].startswith("identity-conformance: adapter")  # the run started
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
    assert proc.returncode == 143
    assert "interrupted by SIGTERM" in err
    assert json.loads((tmp_path / "report.json").read_text())["complete"] is False


def test_console_main_in_process_copies_the_childs_output(capsys: pytest.CaptureFixture[str]) -> None:
    """console_main called with streams that have no file descriptor copies the child's output into them."""
    from conformance._cli import console_main

    assert console_main(["run", *BUDGET]) in (0, 1)
    out = capsys.readouterr().out
    assert out.startswith("identity-conformance: adapter 'reference'")
    assert "exit code" in out
