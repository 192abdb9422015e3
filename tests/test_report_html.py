"""Tests for the self-contained HTML matrix page (``report merge`` writes it as matrix.html)."""

from __future__ import annotations

import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from test_report_merge import base, report, write

from conformance._cli import main
from conformance.report.html import mask, render_html

FAILING = "server.state.no-carry-over"


def failing_report(name: str = "acme") -> dict[str, Any]:
    """A report whose one failure has a violation, a reproducer and hostile text."""
    data = report(base(), "1.0", name)
    for item in data["requirements"]:
        if item["requirement"] == FAILING:
            item["reason"] = "the event of step 2 carried <script>alert(1)</script>"
            item["violations"] = [{"requirement": FAILING, "message": "carried user 'u1' & more",
                                   "expected": None, "observed": {"user_id": "u1", "write_key": "wk-123"},
                                   "step": 2}]  # fmt: skip
            item["reproducer"] = "replay(adapter='acme', machine='server', steps=[('track', {})])"
    return data


class _Page(HTMLParser):
    """What a browser would build: tags seen, ids, link targets and visible text."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.ids: set[str] = set()
        self.links: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        found = dict(attrs)
        if found.get("id"):
            self.ids.add(str(found["id"]))
        if tag == "a" and found.get("href"):
            self.links.append(str(found["href"]))

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def parse(page: str) -> _Page:
    """``page`` parsed."""
    parser = _Page()
    parser.feed(page)
    return parser


def test_every_failing_cell_links_to_its_details() -> None:
    """A failing cell is a link to a <details> block that holds the message and the reproducer."""
    page = parse(render_html([failing_report()]))
    assert page.links == [f"#{next(i for i in page.ids if i.startswith('r0-'))}"]
    assert "details" in page.tags
    text = "".join(page.text)
    assert "carried user 'u1' & more" in text
    assert "replay(adapter='acme'" in text


def test_the_page_is_self_contained_and_escapes_what_reports_hold() -> None:
    """No script or external resource, even when a reason carries markup."""
    page = render_html([failing_report()])
    parsed = parse(page)
    assert "script" not in parsed.tags
    assert "&lt;script&gt;" in page
    assert "http" not in page.lower().replace("http-equiv", "")


def test_credential_looking_values_are_masked() -> None:
    """A write key inside an observed event or a reproducer never reaches the page."""
    page = render_html([failing_report()])
    assert "wk-123" not in page
    assert mask("api_key='abc' token=1") == "api_key='<masked>' token=1"


def test_merge_writes_matrix_html_beside_the_markdown(tmp_path: Path) -> None:
    """`report merge` writes matrix.html with one column per report."""
    a = write(tmp_path / "a.json", failing_report("acme"))
    b = write(tmp_path / "b.json", report(base(), "2.0", "zeta"))
    out = tmp_path / "merged"
    assert main(["report", "merge", str(a), str(b), "--out", str(out)]) == 0
    page = (out / "matrix.html").read_text(encoding="utf-8")
    assert "acme-sdk 1.0" in page
    assert "zeta-sdk 2.0" in page


CHROMIUM = os.environ.get("CHROMIUM_PATH") or shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.mark.skipif(CHROMIUM is None, reason="no Chromium on this machine (.ci/run installs the distribution's)")
def test_the_page_renders_in_headless_chromium(tmp_path: Path) -> None:
    """Chromium builds the table and the details from the file, and can screenshot it."""
    assert CHROMIUM is not None
    page = tmp_path / "matrix.html"
    page.write_text(render_html([failing_report("acme"), report(base(), "2.0", "zeta")]), encoding="utf-8")
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
             "--disable-component-update", "--disable-sync", "--no-first-run",
             f"--user-data-dir={tmp_path / 'profile'}"]  # fmt: skip
    dom = subprocess.run([CHROMIUM, *flags, "--dump-dom", page.as_uri()],
                         capture_output=True, text=True, timeout=120, check=True).stdout  # fmt: skip
    assert "<table>" in dom
    assert dom.count("<tr>") == parse(page.read_text(encoding="utf-8")).tags.count("tr")
    assert "acme-sdk 1.0" in dom
    assert "<details" in dom
    shot = tmp_path / "matrix.png"
    subprocess.run([CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1280,900", page.as_uri()],
                   capture_output=True, timeout=120, check=True)  # fmt: skip
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_state_coverage_is_a_table_per_machine_with_never_reached_pairs_marked() -> None:
    """Each machine's state and step pairs are rows, one column per run; a pair a run never reached shows a dash."""
    reached, other = failing_report("acme"), failing_report("zeta")
    reached["state_coverage"] = {"client": {"anonymous: identify": 7, "identified: reset": 2}}
    other["state_coverage"] = {"client": {"anonymous: identify": 3}}
    page = render_html([reached, other])
    text = " ".join(parse(page).text)
    assert "State coverage" in text
    assert "<b>client</b> machine: 2 state and step pairs" in page
    assert '<tr><td>identified: reset</td><td class="n">2</td><td class="n none">&ndash;</td></tr>' in page


def test_reports_without_state_coverage_show_no_coverage_section() -> None:
    """Reports older than the state_coverage field render as before."""
    assert "State coverage" not in render_html([failing_report()])
