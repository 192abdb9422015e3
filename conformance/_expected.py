"""Expected failures: known SDK deviations declared as data, keyed on requirement ids.

A declared failure that passes fails the run (strict, like ``xfail_strict``), so a fixed
deviation shows up. File format (TOML)::

    [[expected]]
    requirement = "server.ids.at-least-one"
    reason = "track() with no ids is sent anyway"
    reproducer = "client.track('x', user_id=None, anonymous_id=None)"
    url = "https://example.invalid/issue/1"  # optional
"""

from __future__ import annotations

import sys
from pathlib import Path

import attrs

from conformance._errors import InvalidInputError, describe
from conformance._requirements import BY_ID

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]


@attrs.frozen
class ExpectedFailure:
    """One declared deviation."""

    requirement: str
    reason: str
    reproducer: str = ""
    url: str = ""


def load_expected_failures(path: str | Path) -> tuple[ExpectedFailure, ...]:
    """Read and validate an expected-failures file; raise naming the bad entry."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, tomllib.TOMLDecodeError) as exc:
        msg = f"cannot read expected-failures file {str(path)!r}: {exc}. Pass a TOML file with [[expected]] tables."
        raise InvalidInputError(msg) from exc
    entries = data.get("expected", [])
    if not isinstance(entries, list):
        msg = f"'expected' in {str(path)!r} must be an array of tables (got {describe(entries)})."
        raise InvalidInputError(msg)
    out = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            msg = f"entry {i} of {str(path)!r} must be a table (got {describe(entry)})."
            raise InvalidInputError(msg)
        requirement, reason = entry.get("requirement"), entry.get("reason")
        if requirement not in BY_ID:
            msg = (
                f"entry {i} of {str(path)!r}: unknown requirement {describe(requirement)}. "
                "Use an id from `identity-conformance requirements`."
            )
            raise InvalidInputError(msg)
        if not isinstance(reason, str) or not reason.strip():
            msg = f"entry {i} of {str(path)!r} ({requirement}) needs a non-empty 'reason' string (got {describe(reason)})."
            raise InvalidInputError(msg)
        unknown = set(entry) - {"requirement", "reason", "reproducer", "url"}
        if unknown:
            msg = f"entry {i} of {str(path)!r} has unknown keys {sorted(unknown)}; allowed: requirement, reason, reproducer, url."
            raise InvalidInputError(msg)
        assert isinstance(requirement, str)
        out.append(ExpectedFailure(requirement, reason, str(entry.get("reproducer", "")), str(entry.get("url", ""))))
    return tuple(out)
