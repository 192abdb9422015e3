"""Tests for conformance.adapters.jsonl_child: the reference and mutants over the protocol.

The reference served over JSON lines must get the in-process reference's verdicts, and a
mutant served over JSON lines must be caught breaking its requirement.
"""

from __future__ import annotations

import json
import sys
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from conformance import RunSettings, Verdict, load_adapter, run
from conformance.adapters.jsonl import JsonlAdapter
from conformance.adapters.jsonl._schema import protocol_schema, schema_errors
from conformance.collector.store import Collector

CHILD = f"{sys.executable} -m conformance.adapters.jsonl_child"
SMALL = RunSettings(max_examples=20, step_count=10)


def verdicts(adapter: str, settings: RunSettings = SMALL, **kwargs: Any) -> tuple[int, dict[str, Verdict]]:
    """A run's exit code and its verdict per requirement."""
    result = run(load_adapter(adapter), run_settings=settings, **kwargs)
    return result.exit_code, {r.requirement: r.verdict for r in result.results}


def test_reference_over_protocol_matches_in_process() -> None:
    """Over JSON lines (schema-validated) the reference gets the in-process verdicts and exit code.

    Except the exit probe's: the protocol has no exit_program, so over JSON lines they skip.
    The calls with options (timestamp, message id, context) run over the protocol too.
    """
    code, over_protocol = verdicts(f"cmd+validate:{CHILD} reference")
    in_process_code, in_process = verdicts("reference")
    assert code == in_process_code
    skipped_rules = {"server.exit.bounded", "server.exit.delivers"}
    assert {r: v for r, v in over_protocol.items() if r not in skipped_rules} == {
        r: v for r, v in in_process.items() if r not in skipped_rules}
    assert {over_protocol[r] for r in skipped_rules} == {Verdict.SKIP}


def test_reference_over_protocol_passes() -> None:
    """With the default budget the reference over JSON lines exits 0, as it does in process."""
    code, found = verdicts(f"cmd:{CHILD} reference", RunSettings())
    assert code == 0
    assert Verdict.FAIL not in found.values()
    assert Verdict.ERROR not in found.values()


@pytest.mark.parametrize(("mutant", "requirement"), [
    ("mutant-reset-keeps-user", "client.reset.forgets-user"),
    ("mutant-server-ids-on-instance", "server.threads.isolated"),
    ("mutant-retry-new-message-ids", "delivery.retry.same-message-id"),
    ("mutant-server-identify-writes-into-context", "server.arguments.not-retained"),
    ("--request-timeout 0.3 mutant-timeout-resent-as-new", "delivery.retry.same-message-id"),
])  # fmt: skip
def test_mutants_over_protocol_are_caught(mutant: str, requirement: str) -> None:
    """A mutant served over JSON lines fails its requirement, and the child reports it as a mutant."""
    code, found = verdicts(f"cmd:{CHILD} {mutant}", RunSettings(max_examples=40, step_count=15),
                           stop_on=frozenset({requirement}))  # fmt: skip
    assert code == 1
    assert found[requirement] is Verdict.FAIL


def test_hello_carries_the_mutant_declaration() -> None:
    """The child's hello declares the mutant's name and expected violation, read into info."""
    adapter = JsonlAdapter(Collector(), [*CHILD.split(), "mutant-reset-keeps-user"])
    try:
        assert adapter.info.name == "mutant-reset-keeps-user"
        assert adapter.info.expected_violation == "client.reset.forgets-user"
    finally:
        adapter.shutdown()


def test_recorded_messages_fit_the_schema_both_ways() -> None:
    """Every message of a short reference session, both ways, validates against the schema."""
    record: list[tuple[str, dict[str, Any]]] = []
    collector = Collector()
    try:
        adapter = JsonlAdapter(collector, [*CHILD.split(), "reference"], record=record)
        client = adapter.open_client("device-1")
        client.track("Signed Up", {"plan": "pro", "n": [1, 2.5, None], "ü": {"x": True}})
        client.identify("u1", {"ic_seq": "1"})
        with pytest.raises(Exception, match="user_id"):
            client.identify(None, {})  # type: ignore[arg-type]
        client.reset()
        client.close()
        adapter.track("Order", {}, user_id="u1", anonymous_id=None)
        adapter.identify(user_id=None, anonymous_id="a1", traits={})
        adapter.alias(previous_id="a1", user_id="u1")
        context = {"ip": "203.0.113.7", "page": {"path": "/a"}}
        adapter.track_with_options("Paid", {}, user_id="u1", anonymous_id=None, message_id="m-1",
                                   timestamp=datetime(2024, 2, 29, 23, 59, 59, 999000, tzinfo=timezone.utc),
                                   context=context)  # fmt: skip
        context["ip"] = "198.51.100.1"  # the caller moves on to its next request, same dict
        adapter.identify_with_context(user_id="u1", anonymous_id=None, traits={"ic_seq": "9"}, context=context)
        adapter.flush()
        adapter.shutdown()
    finally:
        collector.close()
    arrived = collector.drain()
    assert len(arrived) >= 7
    paid = next(e for e in arrived if e.name == "Paid")
    assert (paid.message_id, paid.timestamp) == ("m-1", 1709251199999)
    ops = {m.get("op") for d, m in record if d == "sent"}
    assert ops == {"init", "open_client", "track", "identify", "reset", "close", "alias", "flush", "shutdown",
                   "track_with_options", "identify_with_context"}
    handles = [m["context_object"] for d, m in record if d == "sent" and "context_object" in m]
    assert len(handles) == 2
    assert handles[0] == handles[1]  # one dict, one handle
    assert any(d == "received" and m.get("ok") is False for d, m in record)
    for direction, message in record:
        assert schema_errors(direction, message) == [], (direction, message)


@pytest.mark.parametrize(("direction", "message"), [
    ("received", {"type": "hello", "protocol": 2, "adapter": "a", "kind": "both", "profile": "seed",
                  "capabilities": [], "sdk": {"name": "x", "version": "1"}}),
    ("received", {"type": "hello", "protocol": 1, "adapter": "a", "kind": "both", "profile": "seed",
                  "capabilities": ["teleport"], "sdk": {"name": "x", "version": "1"}}),
    ("received", {"id": 3, "ok": True, "extra": 1}),
    ("received", {"id": 3, "ok": False, "error": "nope"}),
    ("received", {"id": "3", "ok": True}),
    ("sent", {"id": 1, "op": "track", "name": "e", "properties": {}}),
    ("sent", {"id": 1, "op": "teleport"}),
])  # fmt: skip
def test_schema_rejects_bad_messages(direction: str, message: dict[str, Any]) -> None:
    """Wrong versions, unknown capabilities, stray fields and half-requests do not fit the schema."""
    assert schema_errors(direction, message)


def test_docs_examples_fit_the_schema() -> None:
    """Every example line in docs/protocol.md (``>`` parent, ``<`` child) validates."""
    text = (Path(__file__).parent.parent / "docs" / "protocol.md").read_text()
    examples = [line for line in text.splitlines() if line.startswith(("> {", "< {"))]
    assert len(examples) >= 15
    for line in examples:
        direction = "sent" if line.startswith(">") else "received"
        assert schema_errors(direction, json.loads(line[2:])) == [], line


def test_packaged_schema_is_a_valid_draft_2020_12_schema() -> None:
    """The shipped schema is itself valid under its metaschema."""
    from jsonschema import Draft202012Validator

    Draft202012Validator.check_schema(protocol_schema())


def test_cli_validate_flag_runs_a_command_adapter_with_schema_checks(tmp_path: Any) -> None:
    """`run --validate --adapter 'cmd:...'` checks every message and names the command in reproducers."""
    import os
    import sys

    from conformance._cli import main

    command = f"cmd:{sys.executable} -m conformance.adapters.jsonl_child mutant-reset-keeps-user"
    before = os.environ.get("CONFORMANCE_JSONL_VALIDATE")
    try:
        code = main(["run", "--validate", "--adapter", command, "--fail-fast",
                     "--report-dir", str(tmp_path)])
    finally:
        if before is None:
            os.environ.pop("CONFORMANCE_JSONL_VALIDATE", None)
    assert code == 1
    summary = (tmp_path / "summary.md").read_text(encoding="utf-8")
    assert "| `client.reset.forgets-user` | MUST | **FAIL** |" in summary
    assert f"adapter={command!r}" in summary


def test_a_post_answered_too_late_is_a_timed_out_delivery_the_sdk_retries() -> None:
    """The child's poster raises DeliveryTimedOutError (fault ``slow``) at its timeout, without resending itself."""
    from conformance._errors import DeliveryTimedOutError
    from conformance.adapters.jsonl_child import SegmentPoster
    from simulator import Event, Kind

    collector = Collector()
    try:
        poster = SegmentPoster(target=collector.url_for(), timeout=0.2)
        collector.fail_next(1, "slow", answer_after=0.7)
        event = Event(Kind.TRACK, "Paid", user_id="u1", message_id="m-1")
        with pytest.raises(DeliveryTimedOutError) as late:
            poster.ingest([event])
        assert late.value.fault == "slow"
        assert [e.message_id for e in collector.drain()] == ["m-1"]  # recorded once: the poster did not resend
        poster.ingest([event])
        assert [e.message_id for e in collector.drain()] == ["m-1"]
    finally:
        collector.close()
