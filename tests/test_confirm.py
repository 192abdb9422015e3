"""Tests for conformance.adapters.confirm: when a Chromium claim of an expected failure holds."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.adapters import confirm

_REPRODUCER = ("replay(adapter='cmd:node bridge/index.mjs demo', machine='client', steps=["
               "('track', {'device': 'device-0', 'name': 'a', 'properties': {}})])")


def _run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, *, claim: str, intermittent: bool,
         shows: bool) -> tuple[int, str]:  # fmt: skip
    (tmp_path / "sdks").mkdir()
    (tmp_path / "sdks" / "demo.mjs").write_text("export async function setup(window, options) {}\n")
    expected = tmp_path / "js-demo.toml"
    expected.write_text(
        "[[expected]]\n"
        'requirement = "client.anonymous-id.stable"\n'
        'reason = "SDK: a race."\n'
        f'reproducer = "{_REPRODUCER}"\n'
        f'chromium = "{claim}"\n'
        + ("intermittent = true\n" if intermittent else ""),
        encoding="utf-8",
    )
    monkeypatch.setenv("CHROMIUM_PATH", str(expected))  # any existing file: never started here
    monkeypatch.setenv("IDENTITY_CONFORMANCE_BRIDGE", str(tmp_path))
    monkeypatch.setattr(confirm, "_shows", lambda *_: shows)
    out = tmp_path / "chromium.md"
    return confirm.confirm_in_chromium("demo", expected, out), out.read_text(encoding="utf-8")


@pytest.mark.parametrize(("claim", "shows"), [("confirmed", True), ("not-reproduced", False)])
def test_a_claim_that_chromium_bears_out_holds(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               claim: str, shows: bool) -> None:  # fmt: skip
    """What the file says Chromium shows, Chromium showed: exit 0."""
    code, _ = _run(tmp_path, monkeypatch, claim=claim, intermittent=False, shows=shows)
    assert code == 0


@pytest.mark.parametrize(("claim", "shows"), [("confirmed", False), ("not-reproduced", True)])
def test_a_stale_claim_fails(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, claim: str,
                             shows: bool) -> None:  # fmt: skip
    """A deterministic deviation that Chromium shows otherwise than the file says fails the check."""
    code, text = _run(tmp_path, monkeypatch, claim=claim, intermittent=False, shows=shows)
    assert code == 1
    assert f"(the file says {claim})" in text


@pytest.mark.parametrize(("claim", "shows", "note"), [
    ("confirmed", False, "not seen in 3 tries this time"),
    ("not-reproduced", True, "seen this time; the file says not-reproduced"),
])  # fmt: skip
def test_an_intermittent_claim_holds_either_way_with_a_note(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, claim: str, shows: bool, note: str) -> None:  # fmt: skip
    """A race need not show, or hide, in three replays: the check passes and says what happened."""
    code, text = _run(tmp_path, monkeypatch, claim=claim, intermittent=True, shows=shows)
    assert code == 0
    assert note in text
