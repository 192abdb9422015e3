"""The browser SDKs: declared once in bridge/sdks/, pinned by the lockfile, listed by tox.

The end-to-end runs are the ``js-*`` tox envs themselves (they need ``npm ci``); these tests
check the declarations and the env runner without Node.
"""

from __future__ import annotations

import configparser
import json
import re
from pathlib import Path

import pytest

from conformance.adapters import browser
from conformance.engine.expected import load_expected_failures

ROOT = Path(__file__).parent.parent
BRIDGE = ROOT / "bridge"
SDKS = browser.browser_sdks(BRIDGE)


def _js_envs(value: str) -> set[str]:
    names = set()
    for group in re.findall(r"js-\{([^}]*)\}", value):
        names |= {f"js-{v.strip()}" for v in group.split(",")}
    names |= set(re.findall(r"js-[a-z]+(?![a-z{-])", value))
    return names


def test_the_bridge_drives_the_five_major_browser_sdks() -> None:
    """bridge/sdks/ holds one module per browser SDK the issue names."""
    assert set(SDKS) >= {"segment"}
    assert set(SDKS) <= {"segment", "posthog", "amplitude", "mixpanel", "rudderstack"}


def test_tox_lists_exactly_the_bridge_sdks_everywhere() -> None:
    """envlist, the browser label, the js section and the matrix's depends name every bridge SDK."""
    config = configparser.ConfigParser(interpolation=None)
    config.read_string((ROOT / "tox.ini").read_text(encoding="utf-8"))
    labels = dict(line.split("=", 1) for line in config["tox"]["labels"].strip().splitlines())
    section = next(s for s in config.sections() if s.startswith("testenv:js-"))
    declared = {f"js-{sdk}" for sdk in SDKS}
    for place, value in {
        "envlist": config["tox"]["envlist"],
        "browser label": labels["browser "],
        "sdk-matrix label": labels["sdk-matrix "],
        "section": section,
        "matrix depends": config["testenv:matrix"]["depends"],
    }.items():
        assert _js_envs(value) == declared, place


@pytest.mark.parametrize("sdk", SDKS)
def test_each_sdk_is_pinned_exactly_and_has_an_expected_failures_file(sdk: str) -> None:
    """The spec's package is an exact pin in package.json and the lockfile; its expected failures parse."""
    package = browser.package_of(BRIDGE, sdk)
    manifest = json.loads((BRIDGE / "package.json").read_text(encoding="utf-8"))
    pinned = manifest["dependencies"][package]
    assert re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+", pinned), pinned
    assert browser.lock_versions(BRIDGE)[package] == pinned
    for entry in load_expected_failures(ROOT / "expected-failures" / f"js-{sdk}.toml"):
        assert entry.reproducer, entry.requirement
        assert entry.chromium, f"{entry.requirement}: say what Chromium confirmed"


def test_the_lockfile_records_no_download_addresses() -> None:
    """No registry address is committed: npm resolves packages from its configured registry."""
    assert '"resolved"' not in (BRIDGE / "package-lock.json").read_text(encoding="utf-8")


def test_the_adapter_command_is_copy_pasteable_from_the_project_root() -> None:
    """An SDK's adapter is the bridge started with its module name."""
    assert browser.adapter_command("segment") == "cmd:node bridge/index.mjs segment"


@pytest.mark.parametrize("argv", [[], ["sdk-segment"], ["--help"]])
def test_the_runner_wants_a_js_env_name(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    """Without a js-<sdk> env name the runner prints its usage and exits 2."""
    assert browser.main(argv) == 2
    assert "js-<sdk>" in capsys.readouterr().err


def test_the_runner_names_the_known_sdks_for_an_unknown_one(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
) -> None:
    """js-<unknown> exits 2 naming the SDKs bridge/sdks/ declares."""
    monkeypatch.setenv("IDENTITY_CONFORMANCE_BRIDGE", str(BRIDGE))
    assert browser.main(["js-netscape"]) == 2
    err = capsys.readouterr().err
    assert "'netscape'" in err
    assert "segment" in err


def test_install_is_skipped_when_node_modules_matches_the_lockfile(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The install runs npm ci once per lockfile: a matching stamp in node_modules skips it."""
    (tmp_path / "package-lock.json").write_text('{"packages": {}}', encoding="utf-8")
    calls: list[tuple[str, ...]] = []

    def fake_npm(bridge: Path, *args: str) -> int:
        calls.append(args)
        (bridge / "node_modules").mkdir(exist_ok=True)
        return 0

    monkeypatch.setattr(browser, "_npm", fake_npm)
    assert browser.install(tmp_path) == 0
    assert browser.install(tmp_path) == 0
    assert calls == [("ci", "--no-audit", "--no-fund")]
    (tmp_path / "package-lock.json").write_text('{"packages": {"x": {}}}', encoding="utf-8")
    assert browser.install(tmp_path) == 0
    assert len(calls) == 2


def test_installs_side_by_side_take_turns(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Envs installing at once (tox p) run npm ci once: the others wait and find its stamp."""
    import threading
    import time

    pytest.importorskip("fcntl")
    (tmp_path / "package-lock.json").write_text('{"packages": {}}', encoding="utf-8")
    calls: list[str] = []

    def slow_npm(bridge: Path, *args: str) -> int:
        calls.append(args[0])
        time.sleep(0.2)  # long enough for the other installs to arrive meanwhile
        (bridge / "node_modules").mkdir(exist_ok=True)
        return 0

    monkeypatch.setattr(browser, "_npm", slow_npm)
    codes: list[int] = []
    threads = [threading.Thread(target=lambda: codes.append(browser.install(tmp_path))) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert codes == [0, 0, 0]
    assert calls == ["ci"]


@pytest.mark.parametrize("sdk", SDKS)
def test_every_browser_reproducer_is_a_replay_call_chromium_can_run(sdk: str) -> None:
    """Each expected failure's reproducer parses as replay(adapter=..., machine=..., steps=[...]) over the bridge."""
    from conformance.engine.expected import parse_reproducer

    for entry in load_expected_failures(ROOT / "expected-failures" / f"js-{sdk}.toml"):
        args = parse_reproducer(entry.reproducer, entry.requirement)
        assert args["adapter"] == browser.adapter_command(sdk), entry.requirement
        assert args["machine"] == "client"
        assert args["steps"], entry.requirement


@pytest.mark.parametrize("text", ["print(1)", "replay(adapter=open('x'))", "replay(", "x.replay(steps=[])"])
def test_a_reproducer_that_is_not_a_literal_replay_call_is_refused(text: str) -> None:
    """Only a replay(...) call with literal arguments is read; anything else names the entry."""
    from conformance._errors import InvalidInputError
    from conformance.engine.expected import parse_reproducer

    with pytest.raises(InvalidInputError, match="js-x.toml: e: the reproducer is not a replay"):
        parse_reproducer(text, "js-x.toml: e")
