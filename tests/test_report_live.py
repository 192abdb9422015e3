"""Tests for conformance.report.live: the redrawn progress line on a terminal."""

from __future__ import annotations

import io

import pytest

from conformance import load_adapter, run
from conformance.engine.settings import RunSettings
from conformance.report.live import LiveLine, live_wanted
from conformance.report.writers import ConsoleWriter, console_writer


class _Terminal(io.StringIO):
    """A text stream that says it is a terminal."""

    def isatty(self) -> bool:
        return True


def test_a_terminal_outside_ci_gets_the_live_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """On a TTY with CI unset the console writer draws a live line; a pipe or CI gets plain lines."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.setenv("TERM", "xterm")
    assert console_writer(_Terminal()).live
    assert not console_writer(io.StringIO()).live
    monkeypatch.setenv("CI", "true")
    assert not live_wanted(_Terminal())


def test_the_line_names_the_machine_progress_failures_and_time() -> None:
    """The line says where the run is hunting, how far it got and what it found so far."""
    line = LiveLine(io.StringIO())
    assert "no failure so far" in line.render()
    line.progress("client", 1500, 60)
    line.found({"client.reset.forgets-user"})
    text = line.render()
    assert text.startswith("hunting in the client machine: 1500 steps, 60 examples; 1 requirement(s) failing so far; ")
    assert text.endswith(" s")


def test_a_live_run_ends_with_the_plain_verdict_table(monkeypatch: pytest.MonkeyPatch) -> None:
    """With the live line on, findings still print, the line is removed, and the table follows."""
    stream = _Terminal()
    result = run(load_adapter("mutant-reset-keeps-user"), run_settings=RunSettings(max_examples=20),
                 handlers=[ConsoleWriter(stream, live=True)])  # fmt: skip
    out = stream.getvalue()
    assert result.exit_code == 1
    assert "found in the client machine: " in out
    assert "client.reset.forgets-user" in out.split("found in the client machine")[-1]
    assert "; exit code 1\n" in out
    assert out.index("found in the client machine") < out.index("; exit code 1")
