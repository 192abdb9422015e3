"""Reports from many CI jobs: ``identity-conformance report merge`` and ``report diff``.

``merge`` reads the ``report.json`` of each job and writes ``matrix.md`` (rendered by
:func:`conformance.report.matrix.render`, as ``reports/matrix.md`` is), ``matrix.html``
(one self-contained page, :mod:`conformance.report.html`) and ``merged.json`` (each
report's adapter, SDK version and verdicts). ``diff`` says what changed between two
runs and whether anything got worse.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import attrs

from conformance._errors import InvalidInputError
from conformance._requirements import REQUIREMENTS
from conformance.report.html import render_html
from conformance.report.matrix import render
from conformance.report.writers import REPORT_FORMAT, dumps_json, write_atomic

MERGED_FORMAT = "identity-conformance-merged/1"
VERDICTS = frozenset({"pass", "fail", "skip", "error", "xfail", "xpass"})
BAD = frozenset({"fail", "error", "xpass"})
"""Verdicts that fail a run (an XPASS is a stale expected failure)."""


def load_report_file(path: Path) -> dict[str, Any]:
    """Read a complete ``report.json`` (or a report directory's); raise naming the file."""
    if path.is_dir():
        path = path / "report.json"
    shown = repr(str(path))
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        msg = f"cannot read report {shown}: {exc}. Pass the report.json written by `run --report-dir`."
        raise InvalidInputError(msg) from exc
    except ValueError as exc:
        msg = f"report {shown} is not JSON ({exc}). Pass the report.json written by `run --report-dir`."
        raise InvalidInputError(msg) from exc
    if not isinstance(data, dict) or data.get("format") != REPORT_FORMAT:
        msg = (f'{shown} is not an identity-conformance report (no "format": '
               f"{REPORT_FORMAT!r}). Pass the report.json written by `run --report-dir`.")  # fmt: skip
        raise InvalidInputError(msg)
    if data.get("complete", True) is not True:
        reason = data.get("reason", "it has no verdicts")
        msg = (f"report {shown} is incomplete ({reason}); it holds no verdict. Use the report "
               "of a run that finished.")  # fmt: skip
        raise InvalidInputError(msg)
    problem = _shape_problem(data)
    if problem:
        msg = f"report {shown} is malformed: {problem}. Pass the report.json written by `run --report-dir`."
        raise InvalidInputError(msg)
    return data


def _shape_problem(data: dict[str, Any]) -> str | None:
    """What keeps ``data`` from being a complete report, or None."""
    adapter, prov, requirements = data.get("adapter"), data.get("provenance"), data.get("requirements")
    if not isinstance(adapter, dict) or not all(isinstance(adapter.get(k), str) for k in ("name", "sdk_name", "sdk_version")):
        return '"adapter" needs string "name", "sdk_name" and "sdk_version"'
    if not isinstance(prov, dict) or not all(isinstance(prov.get(k), str) for k in ("datetime", "tool_version")):
        return '"provenance" needs string "datetime" and "tool_version"'
    if not isinstance(requirements, list):
        return '"requirements" is not a list'
    return _requirements_problem(requirements)


def _requirements_problem(requirements: list[Any]) -> str | None:
    seen: set[str] = set()
    for i, item in enumerate(requirements):
        if not isinstance(item, dict) or not isinstance(item.get("requirement"), str):
            return f'requirements[{i}] has no string "requirement"'
        if item.get("verdict") not in VERDICTS:
            return f"requirements[{i}] ({item['requirement']}) has verdict {item.get('verdict')!r}, not one of {sorted(VERDICTS)}"
        if not isinstance(item.get("reason", ""), str) or not isinstance(item.get("reproducer"), (str, type(None))):
            return f"requirements[{i}] ({item['requirement']}) has a non-string reason or reproducer"
        if item["requirement"] in seen:
            return f"requirement {item['requirement']!r} appears twice"
        seen.add(item["requirement"])
    return None


def verdicts(report: dict[str, Any]) -> dict[str, str]:
    """Requirement id to verdict, in the report's order."""
    return {r["requirement"]: r["verdict"] for r in report["requirements"]}


def merged_json(reports: Sequence[dict[str, Any]], sources: Sequence[Path]) -> dict[str, Any]:
    """``merged.json``: per report, where it came from, its adapter, SDK version and verdicts."""
    return {
        "format": MERGED_FORMAT,
        "reports": [
            {
                "source": str(source),
                "adapter": report["adapter"]["name"],
                "sdk_name": report["adapter"]["sdk_name"],
                "sdk_version": report["adapter"]["sdk_version"],
                "profile": report.get("profile"),
                "exit_code": report.get("exit_code"),
                "datetime": report["provenance"]["datetime"],
                "verdicts": verdicts(report),
            }
            for report, source in zip(reports, sources, strict=True)
        ],
    }


def merged_matrix(reports: Sequence[dict[str, Any]]) -> str:
    """The matrix Markdown of ``report merge`` (the committed ``reports/matrix.md`` is this too)."""
    return render(reports, title="Conformance matrix", source="`identity-conformance report merge`",
                  settings=f"merged from {len(reports)} report(s); settings and transport are each report's own")  # fmt: skip


def merge(paths: Sequence[Path], out: Path) -> list[Path]:
    """Read every report (all before writing anything), write ``out``/matrix.md, matrix.html and merged.json."""
    reports = [load_report_file(p) for p in paths]
    matrix = merged_matrix(reports)
    merged = dumps_json(merged_json(reports, paths))
    out.mkdir(parents=True, exist_ok=True)
    page = render_html(reports)
    written = [out / "matrix.md", out / "matrix.html", out / "merged.json"]
    write_atomic(written[0], matrix)
    write_atomic(written[1], page)
    write_atomic(written[2], merged)
    return written


@attrs.frozen
class Change:
    """One requirement whose verdict differs between two runs (None: not in that run)."""

    requirement: str
    old: str | None
    new: str | None
    reason: str = ""

    @property
    def worse(self) -> bool:
        """It newly fails or errors (or became a stale expected failure)."""
        return self.new in BAD and self.new != self.old


@attrs.frozen
class Diff:
    """What changed between two reports."""

    changes: tuple[Change, ...]
    notes: tuple[str, ...]
    """Adapter, SDK version and profile changes."""

    @property
    def worse(self) -> bool:
        """Whether anything newly fails or errors."""
        return any(c.worse for c in self.changes)

    def lines(self) -> list[str]:
        """The diff as text, grouped by kind of change."""
        groups: dict[str, list[str]] = {
            "newly failing": [], "newly passing": [], "verdict changes": [],
            "new requirements": [], "removed requirements": [],
        }  # fmt: skip
        for c in self.changes:
            note = f": {c.reason}" if c.reason and c.new not in (None, "pass") else ""
            if c.worse:
                key = "newly failing"
            elif c.new == "pass" and c.old is not None:
                key = "newly passing"
            elif c.old is None:
                key = "new requirements"
            elif c.new is None:
                key = "removed requirements"
            else:
                key = "verdict changes"
            groups[key].append(f"  {c.requirement}: {c.old or '(absent)'} -> {c.new or '(absent)'}{note}")
        out = list(self.notes)
        for title, items in groups.items():
            if items:
                out += [f"{title} ({len(items)}):", *items]
        worse = sum(c.worse for c in self.changes)
        if not self.changes and not self.notes:
            out.append("no changes")
        out.append(f"{worse} newly failing or erroring, {len(self.changes)} verdict change(s)")
        return out


def diff_reports(old: dict[str, Any], new: dict[str, Any]) -> Diff:
    """Compare two parsed reports requirement by requirement (registry order, then the rest)."""
    notes = []
    for label, key in (("adapter", "name"), ("SDK", "sdk_name"), ("SDK version", "sdk_version")):
        if old["adapter"][key] != new["adapter"][key]:
            notes.append(f"{label}: {old['adapter'][key]} -> {new['adapter'][key]}")
    if old.get("profile") != new.get("profile"):
        notes.append(f"profile: {old.get('profile')} -> {new.get('profile')}")
    before, after = verdicts(old), verdicts(new)
    reasons = {r["requirement"]: (r.get("reason") or "").split("\n")[0][:160] for r in new["requirements"]}
    order = [r.id for r in REQUIREMENTS]
    order += [k for k in {**before, **after} if k not in set(order)]
    changes = tuple(
        Change(rid, before.get(rid), after.get(rid), reasons.get(rid, ""))
        for rid in order
        if (rid in before or rid in after) and before.get(rid) != after.get(rid)
    )
    return Diff(changes, tuple(notes))
