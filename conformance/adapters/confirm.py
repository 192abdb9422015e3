"""Confirming browser-SDK deviations in a real browser: each expected failure replayed in Chromium.

A deviation found under jsdom counts as the SDK's only once it reproduces in headless
Chromium; one that does not is a jsdom artefact. Each entry of
``expected-failures/js-<sdk>.toml`` carries a reproducer (``replay(adapter=..., machine=...,
steps=[...])``) and says what Chromium showed (``chromium = "confirmed"``,
``"not-reproduced"`` or ``"not-checked"``). :func:`confirm_in_chromium` replays every
reproducer over ``node bridge/index.mjs <sdk> --browser chromium`` and fails when a claim
does not hold, so the claims cannot go stale. Each reproducer is replayed up to three
times (a browser's timing is its own); an intermittent deviation (a race) does not fail the
check when a run misses it or, said not to reproduce, shows it this time: the note says so.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path
from typing import Any

from conformance.engine.expected import ExpectedFailure, load_expected_failures, parse_reproducer

REPLAYS = 3
"""Replays of a deviation before Chromium is said not to show it."""


def _shows(adapter: str, entry: ExpectedFailure, args: dict[str, Any]) -> bool:
    from conformance.engine.replay import replay  # noqa: PLC0415  (replay imports the run loop)

    violations = replay(adapter, args.get("steps", []), profile=args.get("profile"),
                        machine=args.get("machine", "client"))  # fmt: skip
    return any(v.requirement == entry.requirement for v in violations)


def confirm_in_chromium(sdk: str, expected: Path, out: Path) -> int:
    """Replay each expected failure of ``sdk`` in Chromium; 0 if every claim holds, else 1 (2: no Chromium)."""
    from conformance.adapters.browser import adapter_command  # noqa: PLC0415

    chromium = os.environ.get("CHROMIUM_PATH") or next(
        (p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(p).exists()), None)
    if chromium is None:
        print("identity-conformance: error: no Chromium to confirm the deviations in: install the "  # noqa: T201
              "distribution's chromium package, set CHROMIUM_PATH, or pass --no-chromium",
              file=sys.stderr)  # fmt: skip
        return 2
    adapter = adapter_command(sdk, chromium=True)
    entries = load_expected_failures(expected)
    rows, wrong = [], 0
    for entry in entries:
        args = parse_reproducer(entry.reproducer, f"{expected}: {entry.requirement}")
        started = time.perf_counter()
        # A browser's timing is its own: a deviation counts as shown once one of three
        # replays shows it; "not-reproduced" means none of the three did.
        tries = REPLAYS
        shown = any(_shows(adapter, entry, args) for _ in range(tries))
        seen = "confirmed" if shown else "not-reproduced"
        claim = entry.chromium or "not-checked"
        holds = claim in {seen, "not-checked"}
        note = "" if holds else f" (the file says {claim})"
        if not holds and entry.intermittent:  # a race need not show, or hide, each time
            holds = True
            note = (f" (intermittent: not seen in {tries} tries this time)" if claim == "confirmed"
                    else f" (intermittent: seen this time; the file says {claim})")
        wrong += not holds
        rows.append(f"| `{entry.requirement}` | {claim} | {seen}{note} | "
                    f"{time.perf_counter() - started:.1f} s |")  # fmt: skip
        print(f"chromium: {entry.requirement}: {seen}{note}", file=sys.stderr)  # noqa: T201
    text = "\n".join([
        f"# js-{sdk}: expected failures replayed in headless Chromium ({chromium})", "",
        f"Adapter `{adapter}`; a claim holds when Chromium shows what the file says.", "",
        "| requirement | file says | Chromium | time |", "|---|---|---|---|", *rows, "",
    ])  # fmt: skip
    _write(out, text)
    if wrong:
        print(f"identity-conformance: {wrong} Chromium claim(s) in {expected} do not hold; see {out}",  # noqa: T201
              file=sys.stderr)  # fmt: skip
    return 1 if wrong else 0


def _write(out: Path, text: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_suffix(".md.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(out)
