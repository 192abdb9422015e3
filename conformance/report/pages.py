"""Reproducers of browser-SDK findings as HTML pages: the SDK's own bundle and calls, without this suite.

For each deviation of a browser SDK that headless Chromium confirmed (``chromium =
"confirmed"`` in ``expected-failures/js-<sdk>.toml``), its reproducer is replayed over the
bridge in Chromium with the JSON-lines exchange recorded; the calls the machine made on the
SDK (track, identify, reset, alias; flushes; page loads) become a page,
``reports/js-<sdk>/programs/<requirement>.html``. The page loads the SDK's bundle from
``node_modules/`` (``npm install <package>@<version>`` beside it), sets it up with the
bridge's own ``setup`` from ``bridge/sdks/<sdk>.mjs`` (copied in, so the page configures
the SDK exactly as the run did), makes the calls and prints whether the SDK accepted each.
A later page load is the page reloading itself (same storage). A deviation that needs two
devices (two browsers' storage) gets no page: a page is one browser.

:func:`check_pages` (run by each pinned ``js-<sdk>`` env after the Chromium confirmation)
writes the pages and opens each in Chromium (``bridge/tools/program-page.mjs run``)
against a loopback collector: it must show what the recorded replay showed (the same calls
accepted or refused, the same events, generated ids and times
aside), else the env fails. The checker serves the page at the bridge's page URL and sends
what it posts to ``127.0.0.1:8080`` (the page's default) to a fresh collector.
A deviation declared intermittent (a race) may differ; that is said, not failed.
"""

from __future__ import annotations

import html
import json
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import attrs

from conformance._errors import InvalidInputError
from conformance.collector.http import HttpCollector
from conformance.collector.store import Collector
from conformance.engine.expected import ExpectedFailure, load_expected_failures, parse_reproducer
from conformance.report.programs import comparable

SDK_CALLS = ("track", "identify", "reset", "alias")
PAGE_TIMEOUT = 120.0
"""Seconds the page check may take (the tool itself gives the page 60 s to say done)."""
TRIES = 3
"""Loads of a page before it is said not to show what the replay showed."""
PARALLEL_PAGES = 4
"""Pages open at once, each in its own Chromium against its own collector."""


@attrs.frozen
class PageStep:
    """One step of a page: an SDK call (with the outcome the replay saw), a flush or a reload."""

    load: int
    op: str
    args: list[Any] = attrs.field(factory=list)
    outcome: str | None = None


def page_steps(record: list[tuple[str, dict[str, Any]]]) -> tuple[list[PageStep], set[str]]:
    """The page's steps from a recorded JSON-lines exchange, and the storage keys it opened.

    A client closed and opened again on its storage key is a reload; the closing ``close``
    and the child's ``shutdown`` are the page being closed, which the checker does itself.
    """
    answers = {m.get("id"): m for direction, m in record if direction == "received"}
    steps: list[PageStep] = []
    keys: set[str] = set()
    loads = 0
    for direction, message in record:
        if direction != "sent":
            continue
        op, answer = message.get("op"), answers.get(message.get("id"), {})
        if op == "open_client":
            keys.add(message["storage_key"])
            loads += 1
            if loads > 1:
                steps.append(PageStep(load=loads - 1, op="reload"))
        elif op in SDK_CALLS:
            args = {"track": [message.get("name"), message.get("properties")],
                    "identify": [message.get("user_id"), message.get("traits")],
                    "alias": [message.get("new_id")]}.get(op, [])  # fmt: skip
            error = answer.get("error") if answer.get("ok") is False else None
            outcome = f"refused: {error.get('type', 'Error')}" if isinstance(error, dict) else "accepted"
            steps.append(PageStep(load=max(loads, 1), op=op, args=args, outcome=outcome))
        elif op == "flush" and loads:
            steps.append(PageStep(load=loads, op="flush"))
    return steps, keys


def expected_lines(steps: list[PageStep]) -> list[str]:
    """The call lines a page prints for ``steps``, with the replay's outcomes."""
    calls = [s for s in steps if s.op in SDK_CALLS]
    return [f"call {n} ({s.op}): {s.outcome}" for n, s in enumerate(calls, start=1)]


def page_text(sdk: dict[str, Any], entry: ExpectedFailure, steps: list[PageStep]) -> str:
    """The standalone page for ``entry``; ``sdk`` is what ``program-page.mjs describe`` says."""
    vendor_url = f"http://127.0.0.1:8080/{sdk['vendor']}"
    name = f"{entry.requirement}.html"
    # "</" inside a <script> would end it early: a property value may hold "</script>".
    rows = ",\n".join(f"  [{s.load}, {json.dumps(s.op)}, {json.dumps(s.args, ensure_ascii=False)}]"
                      for s in steps).replace("</", "<\\/")  # fmt: skip
    return "\n".join([
        "<!doctype html>",
        '<html lang="en">',
        # The bridge's page title: the SDKs send it with each event, as the run's did.
        '<head><meta charset="utf-8"><title>identity-conformance</title></head>',
        "<body>",
        '<pre id="about">',
        html.escape("\n".join([
            f"{sdk['package']} {sdk['version']}: {entry.requirement} (found by identity-conformance).",
            "",
            entry.reason,
            "",
            "Run it without the suite: put this file in an empty folder, and there",
            f"    npm install {sdk['package']}@{sdk['version']}",
            "    identity-conformance collector --port 8080   (or any endpoint that takes the SDK's posts)",
            "    python3 -m http.server 8000",
            f"then open http://localhost:8000/{name}?collector={vendor_url}",
            "Each call prints below whether the SDK accepted it (and in the console); the collector",
            "prints what arrived. A reload is the page loading again on the same storage.",
        ])),
        "</pre>",
        '<pre id="calls"></pre>',
        f'<script src="node_modules/{sdk["bundle"]}"></script>',
        "<script>",
        f"// The SDK set up and called as identity-conformance's bridge does (bridge/sdks/{sdk['sdk']}.mjs):",
        f"const setup = {sdk['setup']};",
        "",
        f'const COLLECTOR = new URLSearchParams(location.search).get("collector") || {json.dumps(vendor_url)};',
        f"const SETTINGS = {json.dumps(sdk['settings'])};",
        f"const FLUSH_MS = {int(sdk['idleMs'])};  // the SDK's flush interval: a flush is the page idle that long",
        "// [page load, step, arguments]",
        "const STEPS = [",
        rows,
        "];",
        "",
        "const pause = (ms) => new Promise((resolve) => setTimeout(resolve, ms));",
        "function report(line) {",
        '  document.getElementById("calls").textContent += `${line}\\n`;',
        "  console.log(line);",
        "  if (window.icReport) window.icReport(line);  // the suite's checker listens here",
        "}",
        "(async () => {",
        '  const load = Number(sessionStorage.getItem("identity-conformance-load") || 1);',
        '  const sdk = await setup(window, { collector: COLLECTOR, variant: "default", settings: SETTINGS });',
        "  await pause(20);  // a visitor's first action comes a moment after the page loaded",
        '  let number = STEPS.filter(([at, step]) => at < load && step !== "flush" && step !== "reload").length;',
        "  for (const [at, step, args] of STEPS) {",
        "    if (at !== load) continue;",
        '    if (step === "reload") {',
        '      sessionStorage.setItem("identity-conformance-load", String(load + 1));',
        "      await pause(FLUSH_MS + 50);  // the visitor reads a while before reloading",
        "      location.reload();",
        "      return;",
        "    }",
        '    if (step === "flush") {',
        "      if (sdk.flush) await sdk.flush();",
        "      await pause(FLUSH_MS + 100);",
        "      continue;",
        "    }",
        "    number += 1;",
        "    try {",
        "      await sdk[step](...args);",
        "      report(`call ${number} (${step}): accepted`);",
        "    } catch (error) {",
        '      report(`call ${number} (${step}): refused: ${(error && error.name) || "Error"}`);',
        "    }",
        "    await pause(1);",
        "    await pause(1);",
        "  }",
        '  sessionStorage.removeItem("identity-conformance-load");',
        "  await pause(100);",
        '  report("done");',
        "})();",
        "</script>",
        "</body>",
        "</html>",
        "",
    ])  # fmt: skip


def describe_sdk(bridge: Path, sdk: str) -> dict[str, Any]:
    """What ``bridge/tools/program-page.mjs describe`` says of ``sdk``."""
    done = subprocess.run([_node(), str(bridge / "tools" / "program-page.mjs"), "describe", sdk],  # noqa: S603
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    if done.returncode != 0:
        msg = f"program-page.mjs describe {sdk} exited {done.returncode}: {done.stderr.strip()[-400:]}"
        raise RuntimeError(msg)
    described: dict[str, Any] = json.loads(done.stdout)
    return described


def run_page(bridge: Path, path: Path, vendor: str) -> tuple[list[str], list[dict[str, Any]]]:
    """Open a page in Chromium against a fresh loopback collector; its call lines and the events."""
    collector = Collector()
    with HttpCollector(collector) as http:
        done = subprocess.run([_node(), str(bridge / "tools" / "program-page.mjs"), "run", str(path),  # noqa: S603
                               http.url_for(vendor)], capture_output=True, text=True,
                              timeout=PAGE_TIMEOUT, check=False)  # fmt: skip
        events = [e.to_json() for e in collector.drain()]
    if done.returncode != 0:
        msg = f"{path} did not finish in Chromium (exit {done.returncode}): {done.stderr.strip()[-400:]}"
        raise RuntimeError(msg)
    return done.stdout.splitlines(), events


class RecordedReplays:
    """Replays over the bridge in Chromium, one child for all: each replay's JSON-lines exchange and events."""

    def __init__(self, sdk: str, profile: str | None = None) -> None:
        from conformance.adapters.jsonl import JsonlAdapter  # noqa: PLC0415
        from conformance.engine.replay import ReplaySession  # noqa: PLC0415  (replay imports the run loop)

        self.record: list[tuple[str, dict[str, Any]]] = []
        self.events: list[dict[str, Any]] = []
        events = self.events

        class Recording(Collector):
            """The replay's collector, keeping a copy of everything the checks drain."""

            def drain(self) -> list[Any]:
                drained = super().drain()
                events.extend(e.to_json() for e in drained)
                return drained

        argv = ["node", "bridge/index.mjs", sdk, "--browser", "chromium"]
        self.session = ReplaySession(lambda collector: JsonlAdapter(collector, argv, record=self.record),
                                     profile=profile, collector=Recording())  # fmt: skip

    def replay(self, steps: list[Any]) -> tuple[list[tuple[str, dict[str, Any]]], list[dict[str, Any]]]:
        """Replay ``steps`` as a new example; the exchange and the events of this replay alone."""
        sent, arrived = len(self.record), len(self.events)
        self.session.replay(steps, machine="client")
        return self.record[sent:], self.events[arrived:]

    def close(self) -> None:
        """Shut the child down."""
        self.session.close()


def check_pages(bridge: Path, sdk: str, expected: Path, out: Path) -> int:
    """Write and check the page of each Chromium-confirmed deviation of ``sdk``; 0 if all reproduce."""
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.html"):
        old.unlink()
    described = describe_sdk(bridge, sdk)
    entries = []
    for entry in load_expected_failures(expected):
        if entry.chromium != "confirmed" or not entry.reproducer.startswith("replay("):
            continue
        try:
            entries.append((entry, parse_reproducer(entry.reproducer, f"{expected}: {entry.requirement}")))
        except InvalidInputError as exc:
            print(f"pages: {entry.requirement}: not written ({exc})", file=sys.stderr)  # noqa: T201
    if not entries:
        return 0
    replays = RecordedReplays(sdk)
    try:
        written = [_write_page(described, entry, replays.replay(list(args.get("steps", []))), out)
                   for entry, args in entries]  # fmt: skip
    finally:
        replays.close()
    pages = [page for page in written if page is not None]
    # A page mostly waits (the SDK's flush interval), so a few are open at once.
    with ThreadPoolExecutor(max_workers=PARALLEL_PAGES) as pool:
        verdicts = list(pool.map(lambda page: _check_page(bridge, described["vendor"], *page), pages))
    for verdict, _ in verdicts:
        print(verdict, file=sys.stderr)  # noqa: T201
    return 1 if any(wrong for _, wrong in verdicts) else 0


def _write_page(described: dict[str, Any], entry: ExpectedFailure,
                replayed: tuple[list[tuple[str, dict[str, Any]]], list[dict[str, Any]]],
                out: Path) -> tuple[ExpectedFailure, Path, list[str], list[dict[str, Any]]] | None:  # fmt: skip
    """Write the page of one replay; what it must show, or None when a page cannot hold it."""
    record, events = replayed
    steps, keys = page_steps(record)
    if len(keys) > 1:
        print(f"pages: {entry.requirement}: not written (its steps use {len(keys)} devices; "  # noqa: T201
              "a page is one browser's storage)", file=sys.stderr)  # fmt: skip
        return None
    path = out / f"{entry.requirement}.html"
    path.write_text(page_text(described, entry, steps), encoding="utf-8")
    return entry, path, expected_lines(steps), events


def _check_page(bridge: Path, vendor: str, entry: ExpectedFailure, path: Path, want: list[str],
                events: list[dict[str, Any]]) -> tuple[str, bool]:  # fmt: skip
    """Open a page in Chromium up to :data:`TRIES` times; what it showed, and whether that is wrong."""
    # The SDKs' own page events (a page view, a session start) race the first call in a
    # browser as they did in the run: a page shows the replay once one of TRIES loads does.
    seen: list[str] = []
    for tried in range(1, TRIES + 1):
        lines, arrived = run_page(bridge, path, vendor)
        if lines == want and _comparable(arrived) == _comparable(events):
            note = "" if tried == 1 else f" (on load {tried} of {TRIES})"
            return f"pages: {entry.requirement}: reproduces the replay{note} ({path})", False
        seen = [*lines, *(e["event"] for e in _comparable(arrived))]
    if entry.intermittent:
        return (f"pages: {entry.requirement}: differs from the replay in {TRIES} loads (intermittent: "
                f"allowed) ({path})"), False  # fmt: skip
    return (f"pages: {entry.requirement}: DIFFERS from the replay in {TRIES} loads ({path})\n"
            f"  suite: {[*want, *(e['event'] for e in _comparable(events))]}\n  page: {seen}"), True  # fmt: skip


_EPOCH_MS = re.compile(r"\b1\d{12}\b")
"""A time in epoch milliseconds (a session id such as RudderStack's ``context.sessionId``)."""


def _comparable(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """As :func:`~conformance.report.programs.comparable`, with times in epoch ms left out too."""
    return [{"event": text} for text in sorted(_EPOCH_MS.sub("<time>", e["event"]) for e in comparable(events))]


def _node() -> str:
    return shutil.which("node") or "node"
