"""Expected failures: known SDK deviations declared as data, keyed on requirement ids.

A declared failure that passes fails the run (strict, like ``xfail_strict``), and so does
one for a requirement that is skipped for the adapter, so a fixed or meaningless
declaration shows up. File format (TOML, UTF-8)::

    [[expected]]
    requirement = "server.ids.at-least-one"   # required: an id from `identity-conformance requirements`
    reason = "track() with no ids is sent anyway"   # required, non-empty
    reproducer = "client.track('x', user_id=None, anonymous_id=None)"  # optional string
    url = "https://example.invalid/issue/1"  # optional string
    match = "was accepted|still sent an event"   # optional: a regex every violation message must match
    intermittent = true   # optional: the deviation depends on timing the suite cannot fix
    chromium = "confirmed"   # optional, browser SDKs: confirmed | not-reproduced | not-checked

``expected`` is the only top-level key; a file without it declares nothing. Each entry has
only these keys, and each requirement appears at most once. ``match`` pins the behaviour,
not only the requirement: a violation of the requirement whose message the regex does
not find (``re.search``) is a deviation the entry does not describe, and fails the run.
An ``intermittent`` entry
is not stale when the run passes (the run says it did not happen this time); it still
turns a FAIL into XFAIL, never an ERROR into anything else.
"""

from __future__ import annotations

import ast
import difflib
import re
import sys
from pathlib import Path
from typing import Any

import attrs

from conformance._errors import InvalidInputError, describe
from conformance._requirements import BY_ID

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

_KEYS = ("requirement", "reason", "reproducer", "url", "match", "intermittent", "chromium")
CHROMIUM = ("confirmed", "not-reproduced", "not-checked")
"""What headless Chromium said of a deviation found under jsdom (issue: confirmed in a real browser)."""


@attrs.frozen
class ExpectedFailure:
    """One declared deviation."""

    requirement: str
    reason: str
    reproducer: str = ""
    url: str = ""
    match: str = ""
    """A regex every violation message of the requirement must contain; empty: any."""
    intermittent: bool = False
    chromium: str = ""

    def describes(self, message: str) -> bool:
        """Whether this entry's ``match`` covers a violation ``message``."""
        return not self.match or re.search(self.match, message) is not None


def load_expected_failures(path: str | Path) -> tuple[ExpectedFailure, ...]:
    """Read and validate an expected-failures file; raise naming the file and the bad entry."""
    where = repr(str(path))
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except UnicodeDecodeError as exc:
        msg = f"expected-failures file {where} is not UTF-8 text ({exc}). Save it as UTF-8 TOML."
        raise InvalidInputError(msg) from exc
    except (OSError, tomllib.TOMLDecodeError) as exc:
        msg = f"cannot read expected-failures file {where}: {exc}. Pass a TOML file with [[expected]] tables."
        raise InvalidInputError(msg) from exc
    extra = sorted(set(data) - {"expected"})
    if extra:
        msg = f"expected-failures file {where} has unknown top-level keys {extra}; the only one is [[expected]]."
        raise InvalidInputError(msg)
    entries = data.get("expected", [])
    if not isinstance(entries, list):
        msg = f"'expected' in {where} must be an array of tables (got {describe(entries)}). Write [[expected]] tables."
        raise InvalidInputError(msg)
    out: list[ExpectedFailure] = []
    first: dict[str, int] = {}
    for i, entry in enumerate(entries):
        record = _entry(entry, i, where)
        if record.requirement in first:
            msg = (f"entries {first[record.requirement]} and {i} of {where} both declare "
                   f"{record.requirement!r}; keep one entry per requirement.")  # fmt: skip
            raise InvalidInputError(msg)
        first[record.requirement] = i
        out.append(record)
    return tuple(out)


def _entry(entry: object, i: int, where: str) -> ExpectedFailure:
    if not isinstance(entry, dict):
        msg = f"entry {i} of {where} must be a table (got {describe(entry)}). Write it as [[expected]]."
        raise InvalidInputError(msg)
    requirement = entry.get("requirement")
    if not isinstance(requirement, str):
        msg = (f"entry {i} of {where}: 'requirement' must be one requirement id string (got "
               f"{describe(requirement)}). Write one [[expected]] table per requirement.")  # fmt: skip
        raise InvalidInputError(msg)
    if requirement not in BY_ID:
        close = difflib.get_close_matches(requirement, list(BY_ID), n=1, cutoff=0.0)
        hint = f"Did you mean {close[0]!r}? " if close else ""
        msg = (f"entry {i} of {where}: unknown requirement {describe(requirement)}. {hint}"
               "Use an id from `identity-conformance requirements`.")  # fmt: skip
        raise InvalidInputError(msg)
    reason = entry.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        msg = f"entry {i} of {where} ({requirement}) needs a non-empty 'reason' string (got {describe(reason)})."
        raise InvalidInputError(msg)
    unknown = set(entry) - set(_KEYS)
    if unknown:
        msg = f"entry {i} of {where} has unknown keys {sorted(unknown)}; allowed: {', '.join(_KEYS)}."
        raise InvalidInputError(msg)
    for key in ("reproducer", "url"):
        value = entry.get(key, "")
        if not isinstance(value, str):
            msg = f"entry {i} of {where} ({requirement}): {key!r} must be a string (got {describe(value)})."
            raise InvalidInputError(msg)
    match = entry.get("match", "")
    if not isinstance(match, str):
        msg = f"entry {i} of {where} ({requirement}): 'match' must be a regex string (got {describe(match)})."
        raise InvalidInputError(msg)
    try:
        re.compile(match)
    except re.error as exc:
        msg = (f"entry {i} of {where} ({requirement}): 'match' is not a valid regex ({exc}): "
               f"{describe(match)}. Escape literal brackets and parentheses.")  # fmt: skip
        raise InvalidInputError(msg) from exc
    intermittent = entry.get("intermittent", False)
    if not isinstance(intermittent, bool):
        msg = (f"entry {i} of {where} ({requirement}): 'intermittent' must be true or false "
               f"(got {describe(intermittent)}).")  # fmt: skip
        raise InvalidInputError(msg)
    chromium = entry.get("chromium", "")
    if chromium != "" and chromium not in CHROMIUM:
        msg = (f"entry {i} of {where} ({requirement}): 'chromium' must be one of "
               f"{', '.join(CHROMIUM)} (got {describe(chromium)}).")  # fmt: skip
        raise InvalidInputError(msg)
    return ExpectedFailure(requirement, reason, entry.get("reproducer", ""), entry.get("url", ""),
                           match, intermittent, chromium)  # fmt: skip


def parse_reproducer(text: str, where: str) -> dict[str, Any]:
    """The keyword arguments of a ``replay(...)`` reproducer string; raise naming ``where``."""
    try:
        call = ast.parse(text.strip(), mode="eval").body
        if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name) and call.func.id == "replay"):
            msg = "not a replay(...) call"
            raise ValueError(msg)  # noqa: TRY301  (one message for every shape)
        return {kw.arg: ast.literal_eval(kw.value) for kw in call.keywords if kw.arg}
    except (SyntaxError, ValueError) as exc:
        msg = f"{where}: the reproducer is not a replay(adapter=..., machine=..., steps=[...]) call ({exc})"
        raise InvalidInputError(msg) from exc
