"""Upstream-ready findings: one Markdown file per SDK with each deviation as an issue to file.

    python -m conformance.report.findings --out reports/findings

For every report of a released SDK (``reports/sdk-*`` and ``reports/js-*``), each expected
failure whose reason names the SDK (``SDK: ...``) becomes a section an SDK maintainer can
read without knowing this suite: the SDK and its version, what it does and what the rule
says, expected vs observed from the run, the minimal reproducer, and, for browser SDKs,
whether headless Chromium confirmed it. Entries that are API limits, knock-ons or suite
artefacts are listed after, briefly, so nothing declared is hidden.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from conformance._errors import InvalidInputError
from conformance._requirements import BY_ID
from conformance.engine.expected import ExpectedFailure, load_expected_failures
from conformance.report.merge import load_report_file
from conformance.report.writers import write_atomic


def _fence(text: str, language: str = "python") -> str:
    return f"```{language}\n" + text.strip() + "\n```"


def _title(reason: str) -> str:
    """The reason's first clause, short enough for an issue title."""
    text = reason.removeprefix("SDK:").strip()
    for stop in (": ", "; ", ". ", " ("):
        text = text.split(stop)[0]
    return text if len(text) <= 90 else text[:87].rstrip() + "..."


def render_findings(report: dict[str, Any], expected: Sequence[ExpectedFailure],
                    programs: Path | None = None) -> str:  # fmt: skip
    """The findings page of one SDK run; ``programs`` holds its SDK-API reproducers, if any."""
    adapter = report["adapter"]
    head = f"{adapter['sdk_name']} {adapter['sdk_version']}"
    results = {r["requirement"]: r for r in report["requirements"]}
    sdk = [e for e in expected if e.reason.startswith("SDK:")]
    other = [e for e in expected if not e.reason.startswith("SDK:")]
    lines = [
        f"# Identity findings: {head}",
        "",
        f"Found by identity-conformance {report['provenance']['tool_version']} (adapter "
        f"`{adapter['name']}`, profile `{report.get('profile')}`, run of "
        f"{report['provenance']['datetime'][:10]}). Each finding replays with "
        "`from conformance import replay` from a checkout of the suite.",
        "",
    ]
    if not sdk:
        lines += ["No SDK deviation is declared.", ""]
    for number, entry in enumerate(sdk, 1):
        requirement = BY_ID[entry.requirement]
        result = results.get(entry.requirement, {})
        lines += [f"## {number}. {_title(entry.reason)}", "",
                  f"- Rule: `{entry.requirement}` ({requirement.level.value}): {requirement.statement}",
                  f"- Verdict in the run: {result.get('verdict', 'not run')}"
                  + (", intermittent (depends on timing)" if entry.intermittent else "")]  # fmt: skip
        if entry.chromium:
            lines.append(f"- Headless Chromium: {entry.chromium}")
        lines += ["", entry.reason.removeprefix("SDK:").strip(), ""]
        violation = next(iter(result.get("violations") or []), None)
        if violation is not None:
            lines += [f"Seen in the run: {violation['message']}", "",
                      f"    expected: {json.dumps(violation.get('expected'), ensure_ascii=False)[:300]}",
                      f"    observed: {json.dumps(violation.get('observed'), ensure_ascii=False)[:300]}", ""]  # fmt: skip
        program = programs / f"{entry.requirement}.py" if programs is not None else None
        page = programs / f"{entry.requirement}.html" if programs is not None else None
        if program is not None and program.is_file():
            lines += [f"Reproducer in the SDK's own API, without this suite (`{program.as_posix()}`, "
                      "checked against the pinned SDK by the env that wrote it):", "",
                      _fence(program.read_text(encoding="utf-8").rstrip("\n")), ""]  # fmt: skip
        elif page is not None and page.is_file():
            lines += [f"Reproducer in the SDK's own API, without this suite: a page (`{page.as_posix()}`, "
                      "opened in headless Chromium by the env that wrote it). It sets the SDK up as the run "
                      "did and makes the run's calls:", "",
                      _fence(_page_calls(page.read_text(encoding="utf-8")), "js"), ""]  # fmt: skip
        if entry.reproducer:
            lines += ["Reproducer:", "", _fence(f"from conformance import replay\n\nviolations = {entry.reproducer}\n"
                                                 "for violation in violations:\n    print(violation)"), ""]  # fmt: skip
    if other:
        lines += ["## Also declared (not SDK defects)", ""]
        lines += [f"- `{e.requirement}`: {e.reason}" for e in other]
        lines.append("")
    return "\n".join(lines)


def _page_calls(page: str) -> str:
    """The part of a finding's page a reader needs first: its setup and its steps."""
    start = page.find("const setup = ")
    end = page.find("const pause = ")
    return page[start:end].strip() if 0 <= start < end else page


def main(argv: Sequence[str] | None = None) -> int:
    """Write one findings page per released-SDK report; exit 2 on a bad report or file."""
    parser = argparse.ArgumentParser(prog="python -m conformance.report.findings", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--reports", type=Path, default=Path("reports"), help="folder of report directories")
    parser.add_argument("--expected", type=Path, default=Path("expected-failures"),
                        help="folder of expected-failures files (<env>.toml)")  # fmt: skip
    parser.add_argument("--out", type=Path, required=True, help="folder to write <env>.md into")
    args = parser.parse_args(argv)
    pages: dict[str, str] = {}
    try:
        for directory in sorted(p for p in args.reports.iterdir() if p.name.startswith(("sdk-", "js-"))
                                and not p.name.endswith(("-latest", "-chromium")) and p.is_dir()):  # fmt: skip
            declared = args.expected / f"{directory.name}.toml"
            expected = load_expected_failures(declared) if declared.is_file() else ()
            pages[directory.name] = render_findings(load_report_file(directory), expected, directory / "programs")
    except (InvalidInputError, OSError) as exc:
        print(f"findings: {exc}", file=sys.stderr)  # noqa: T201
        return 2
    args.out.mkdir(parents=True, exist_ok=True)
    for name, text in pages.items():
        write_atomic(args.out / f"{name}.md", text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
