"""Checking messages against the committed protocol schema (``protocol.schema.json``).

Needs :mod:`jsonschema` (in the ``test`` extra); it is imported only when validation is on.
"""

from __future__ import annotations

import functools
import importlib.util
import json
from collections.abc import Mapping
from importlib import resources
from typing import Any

from conformance._errors import UnknownAdapterError

SCHEMA_FILE = "protocol.schema.json"


@functools.cache
def protocol_schema() -> dict[str, Any]:
    """The protocol's JSON Schema (draft 2020-12), as shipped in this package."""
    text = resources.files("conformance.adapters.jsonl").joinpath(SCHEMA_FILE).read_text("utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def require_jsonschema() -> None:
    """Raise :class:`UnknownAdapterError` naming the fix when jsonschema is missing."""
    if importlib.util.find_spec("jsonschema") is None:
        msg = ("validating the JSON-lines protocol needs jsonschema: "
               "pip install 'identity-conformance[test]'")  # fmt: skip
        raise UnknownAdapterError(msg)


@functools.cache
def _validators() -> dict[str, Any]:
    from jsonschema import Draft202012Validator  # type: ignore[import-untyped]  # noqa: PLC0415

    schema = protocol_schema()
    Draft202012Validator.check_schema(schema)

    def part(*refs: str) -> Any:
        sub = {**schema, "oneOf": [{"$ref": f"#/$defs/{ref}"} for ref in refs]}
        return Draft202012Validator(sub)

    validators = {"sent": part("request"), "received": part("hello", "answer")}
    # A request can only fit the alternatives with its own op, so checking those alone is
    # the same verdict as the whole oneOf, at a tenth of the cost (validate mode checks
    # every message of a run). Answers carry no op and keep the whole oneOf.
    by_op: dict[str, list[str]] = {}
    for ref in schema["$defs"]["request"]["oneOf"]:
        name = ref["$ref"].rpartition("/")[2]
        by_op.setdefault(schema["$defs"][name]["properties"]["op"]["const"], []).append(name)
    for op, names in by_op.items():
        validators[f"sent:{op}"] = part(*names)
    return validators


def schema_errors(direction: str, message: Mapping[str, Any]) -> list[str]:
    """Why ``message`` does not fit the schema for ``direction`` (``"sent"`` or ``"received"``)."""
    validators = _validators()
    fast = validators.get(f"{direction}:{message.get('op')}")
    if fast is not None and fast.is_valid(dict(message)):
        return []
    validator = validators[direction]  # the whole oneOf names the closest alternative
    found = sorted(validator.iter_errors(dict(message)), key=lambda e: list(e.absolute_path))
    out = []
    for error in found:
        best = error
        if error.context:  # for oneOf: the closest alternative explains it best
            best = min(error.context, key=lambda e: (len(e.absolute_path) * -1, len(e.message)))
        where = "/".join(str(p) for p in best.absolute_path) or "(top level)"
        out.append(f"{where}: {best.message}")
    return out


def check_message(direction: str, message: Mapping[str, Any]) -> None:
    """Raise ``ValueError`` if ``message`` does not fit the schema (validate mode)."""
    problems = schema_errors(direction, message)
    if problems:
        who = "the parent sent" if direction == "sent" else "the child sent"
        msg = f"schema violation: {who} {json.dumps(dict(message))[:300]}: {'; '.join(problems)}"
        raise ValueError(msg)
