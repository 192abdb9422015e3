"""Tests for the browser findings' pages (:mod:`conformance.report.pages`), without a browser."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from test_report_merge import base, report

from conformance.engine.expected import ExpectedFailure
from conformance.report.findings import render_findings
from conformance.report.pages import PageStep, expected_lines, page_steps, page_text

SDK = {
    "sdk": "acme", "package": "@acme/browser", "version": "2.0.1", "bundle": "@acme/browser/dist/umd.js",
    "vendor": "segment", "settings": {"batch": False}, "idleMs": 3100,
    "setup": "async function setup(window, { collector }) {\n  return { track: () => {} };\n}",
}  # fmt: skip
ENTRY = ExpectedFailure("client.identify.requires-user-id", "SDK: identify('') is sent -- with no user.",
                        reproducer="replay(adapter='cmd:node bridge/index.mjs acme', machine='client', steps=[])",
                        chromium="confirmed")  # fmt: skip


def exchange(*requests: tuple[dict[str, Any], dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """A recorded JSON-lines exchange: each request sent, then its answer received."""
    record: list[tuple[str, dict[str, Any]]] = []
    for number, (request, answer) in enumerate(requests, start=1):
        record += [("sent", {"id": number, **request}), ("received", {"id": number, **answer})]
    return record


def test_the_recorded_calls_become_page_steps_with_their_outcomes() -> None:
    """SDK calls keep their arguments and outcome; a flush is a step; the closing close is the checker's."""
    record = exchange(
        ({"op": "open_client", "storage_key": "device-0#1"}, {"ok": True, "client": "c1"}),
        ({"op": "identify", "client": "c1", "user_id": "", "traits": {"ic_seq": 1}}, {"ok": True}),
        ({"op": "track", "client": "c1", "name": "a", "properties": {"x": 1}, "object": "o1"},
         {"ok": False, "error": {"type": "TypeError", "message": "no"}}),
        ({"op": "reset", "client": "c1"}, {"ok": True}),
        ({"op": "flush"}, {"ok": True}),
        ({"op": "close", "client": "c1"}, {"ok": True}),
        ({"op": "shutdown"}, {"ok": True}),
    )
    steps, keys = page_steps(record)
    assert keys == {"device-0#1"}
    assert steps == [PageStep(1, "identify", ["", {"ic_seq": 1}], "accepted"),
                     PageStep(1, "track", ["a", {"x": 1}], "refused: TypeError"),
                     PageStep(1, "reset", [], "accepted"), PageStep(1, "flush")]  # fmt: skip
    assert expected_lines(steps) == ["call 1 (identify): accepted", "call 2 (track): refused: TypeError",
                                     "call 3 (reset): accepted"]  # fmt: skip


def test_a_client_opened_again_on_its_key_is_a_reload_and_two_keys_are_two_devices() -> None:
    """Reopening one storage key reloads the page (its later calls are on load 2); each key is counted."""
    record = exchange(
        ({"op": "open_client", "storage_key": "k"}, {"ok": True, "client": "c1"}),
        ({"op": "alias", "client": "c1", "new_id": "u1"}, {"ok": True}),
        ({"op": "close", "client": "c1"}, {"ok": True}),
        ({"op": "open_client", "storage_key": "k"}, {"ok": True, "client": "c2"}),
        ({"op": "track", "client": "c2", "name": "b", "properties": {}}, {"ok": True}),
        ({"op": "open_client", "storage_key": "other"}, {"ok": True, "client": "c3"}),
    )
    steps, keys = page_steps(record)
    assert [(s.load, s.op) for s in steps][:3] == [(1, "alias"), (1, "reload"), (2, "track")]
    assert keys == {"k", "other"}


def test_a_page_loads_the_sdk_bundle_sets_it_up_as_the_bridge_does_and_lists_its_steps() -> None:
    """The page shows what it reproduces and how to run it, loads the bundle, embeds setup and the steps as data."""
    steps = [PageStep(1, "identify", ["", {"ic_seq": 1}], "accepted"), PageStep(1, "flush")]
    page = page_text(SDK, ENTRY, steps)
    assert "npm install @acme/browser@2.0.1" in page
    assert '<script src="node_modules/@acme/browser/dist/umd.js"></script>' in page
    assert f"const setup = {SDK['setup']};" in page
    assert '  [1, "identify", ["", {"ic_seq": 1}]],\n  [1, "flush", []]' in page
    assert "const FLUSH_MS = 3100;" in page
    assert 'const SETTINGS = {"batch": false};' in page
    about = page[page.index('<pre id="about">'):page.index("</pre>")]
    assert "identify(&#x27;&#x27;) is sent -- with no user." in about  # shown on the page, escaped
    assert "identity-conformance collector --port 8080" in about


def test_a_browser_finding_shows_its_page_setup_and_steps(tmp_path: Path) -> None:
    """A findings section of a browser SDK quotes its page's setup and steps and names the file."""
    programs = tmp_path / "programs"
    programs.mkdir()
    page = programs / f"{ENTRY.requirement}.html"
    page.write_text(page_text(SDK, ENTRY, [PageStep(1, "identify", ["", {}], "accepted")]), encoding="utf-8")
    text = render_findings(report(base(**{ENTRY.requirement: "xfail"})), [ENTRY], programs)
    assert f"a page (`{page.as_posix()}`" in text
    assert "```js\nconst setup = async function setup(window" in text
    assert '[1, "identify", ["", {}]]' in text
    assert "const pause" not in text


def test_a_value_that_closes_a_script_tag_stays_inside_the_steps() -> None:
    """A property value holding "</script>" is written with its slash escaped, so the page's script runs whole."""
    page = page_text(SDK, ENTRY, [PageStep(1, "track", ["a</script><b>", {"x": "</SCRIPT>"}], "accepted")])
    steps = page[page.index("const STEPS = ["):page.index("];", page.index("const STEPS = ["))]
    assert "</" not in steps
    assert '"a<\\/script><b>"' in steps
