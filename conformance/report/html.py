"""One self-contained HTML page: the requirement x SDK matrix from many JSON reports.

No script, no external resource: a table of verdicts whose every failing cell links to a
``<details>`` block with the message, expected vs observed, the reproducer and the run's
settings, so the page can be attached to a CI job and opened anywhere. Everything shown is
escaped, and values that look like credentials are masked (reports hold none, but a
reproducer or an observed event could carry a caller's token-like property).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from typing import Any, Final

from conformance._requirements import REQUIREMENTS
from conformance.report.matrix import column_heads

_CELL: Final = {
    "pass": "pass", "fail": "FAIL", "error": "ERROR", "skip": "skip",
    "xfail": "fail (known)", "xpass": "XPASS (stale)",
}  # fmt: skip
_SECRET: Final = re.compile(
    r"""(?i)(["']?(?:write_?key|api_?key|secret|password|auth_?token|access_?token)["']?\s*[:=]\s*["']?)"""
    r"""([^"'\s,}]+)""",
)
_STYLE: Final = """
body{font:14px/1.45 system-ui,sans-serif;margin:2em;color:#1b1b1b}
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:.3em .6em;text-align:left}
th{background:#f3f3f3;position:sticky;top:0}td.v{text-align:center;white-space:nowrap}
.pass{background:#e6f4ea}.fail,.error,.xpass{background:#fce8e6;font-weight:600}
.xfail{background:#fef7e0}.skip,.none{color:#777}a{color:inherit}td.n{text-align:right}
details{margin:.6em 0;border:1px solid #ddd;padding:.4em .8em}summary{cursor:pointer}
pre{background:#f7f7f7;padding:.6em;overflow-x:auto;white-space:pre-wrap}code{font-size:13px}
"""


def mask(text: str) -> str:
    """``text`` with credential-looking values replaced by ``<masked>``."""
    return _SECRET.sub(lambda m: f"{m.group(1)}<masked>", text)


def _e(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, default=str)
    return html.escape(mask(text))


def _json(value: Any) -> str:
    """A value as JSON (so '' and None show as "" and null), escaped and masked."""
    return html.escape(mask(json.dumps(value, ensure_ascii=False, default=str)))


def _anchor(column: int, requirement: str) -> str:
    return f"r{column}-" + re.sub(r"[^a-z0-9]+", "-", requirement.lower())


def render_html(reports: Sequence[dict[str, Any]], *, title: str = "Conformance matrix") -> str:
    """The page for ``reports`` (complete, parsed ``report.json`` documents)."""
    heads = column_heads(reports)
    by_sdk = [{x["requirement"]: x for x in r["requirements"]} for r in reports]
    rows = []
    for requirement in REQUIREMENTS:
        cells = []
        for column, results in enumerate(by_sdk):
            verdict = results.get(requirement.id, {}).get("verdict", "")
            label = html.escape(_CELL.get(verdict, "n/a"))
            if verdict in {"fail", "error", "xfail", "xpass"}:
                label = f'<a href="#{_anchor(column, requirement.id)}">{label}</a>'
            cells.append(f'<td class="v {html.escape(verdict)}">{label}</td>')
        rows.append(f"<tr><td><code>{html.escape(requirement.id)}</code></td>"
                    f"<td>{requirement.level.value}</td>{''.join(cells)}</tr>")  # fmt: skip
    details = []
    for column, (head, report, results) in enumerate(zip(heads, reports, by_sdk, strict=True)):
        for requirement in REQUIREMENTS:
            result = results.get(requirement.id)
            if result is None or result["verdict"] not in {"fail", "error", "xfail", "xpass"}:
                continue
            details.append(_detail(column, head, report, result))
    settings = [
        f"<li><b>{_e(h)}</b>: adapter <code>{_e(r['adapter']['name'])}</code>, profile "
        f"<code>{_e(r.get('profile'))}</code>, {_e(r['provenance']['datetime'])}, "
        f"settings <code>{_e(r['provenance'].get('settings', {}))}</code></li>"
        for h, r in zip(heads, reports, strict=True)
    ]
    header = "".join(f"<th>{_e(h)}</th>" for h in heads)
    return "\n".join([
        "<!doctype html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p>{len(reports)} report(s). <b>fail (known)</b> is a failure declared in an "
        "expected-failures file; every failing cell links to its details below.</p>",
        f"<table><thead><tr><th>requirement</th><th>level</th>{header}</tr></thead>",
        "<tbody>", *rows, "</tbody></table>",
        "<h2>Failures</h2>", *(details or ["<p>None.</p>"]),
        *_coverage(heads, reports),
        "<h2>Runs</h2>", "<ul>", *settings, "</ul>", "</body></html>", "",
    ])  # fmt: skip


def _detail(column: int, head: str, report: dict[str, Any], result: dict[str, Any]) -> str:
    parts = [f'<details id="{_anchor(column, result["requirement"])}">',
             f"<summary><b>{_e(head)}</b>: <code>{_e(result['requirement'])}</code> "
             f"({_e(result['verdict'])}) {_e(result['reason'].splitlines()[0] if result['reason'] else '')}</summary>"]  # fmt: skip
    for violation in result.get("violations", [])[:5]:
        parts.append(f"<p>{_e(violation.get('message', ''))}"
                     + (f" (step {_e(violation['step'])})" if violation.get("step") is not None else "")
                     + "</p>")  # fmt: skip
        parts.append(f"<pre>expected: {_json(violation.get('expected'))}\nobserved: {_json(violation.get('observed'))}</pre>")
    if result.get("reproducer"):
        parts.append(f"<p>Reproducer (adapter <code>{_e(report['adapter']['name'])}</code>):</p>"
                     f"<pre><code>{_e(result['reproducer'])}</code></pre>")  # fmt: skip
    parts.append("</details>")
    return "\n".join(parts)


def _coverage(heads: list[str], reports: Sequence[dict[str, Any]]) -> list[str]:
    """The state coverage table: per machine, each identity state and step, times per run."""
    coverage = [r.get("state_coverage") or {} for r in reports]
    if not any(coverage):
        return []
    parts = ["<h2>State coverage</h2>",
             "<p>Which identity states each run reached, what it did from each, and how often "
             "(&ndash;: never, so no requirement was checked there).</p>"]  # fmt: skip
    for machine in sorted({m for c in coverage for m in c}):
        keys = sorted({k for c in coverage for k in c.get(machine, {})})
        rows = []
        for key in keys:
            cells = []
            for c in coverage:
                n = c.get(machine, {}).get(key, 0)
                cells.append(f'<td class="n{"" if n else " none"}">{n or "&ndash;"}</td>')
            rows.append(f"<tr><td>{_e(key)}</td>{''.join(cells)}</tr>")
        parts += [f"<details><summary><b>{_e(machine)}</b> machine: {len(keys)} state and step pairs</summary>",
                  f"<table><thead><tr><th>state: step</th>{''.join(f'<th>{_e(h)}</th>' for h in heads)}</tr></thead>",
                  "<tbody>", *rows, "</tbody></table></details>"]  # fmt: skip
    return parts
