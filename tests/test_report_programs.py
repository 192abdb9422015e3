"""Tests for conformance.report.programs: findings as programs in the SDK's own API."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.adapters.protocol import AdapterKind
from conformance.adapters.sdk import SdkProgram, SdkSpec
from conformance.engine.expected import ExpectedFailure
from conformance.report.programs import accepted_outcome, comparable, program_text

FAKE_SDK = """
class Client:
    def __init__(self, key, host):
        self.host = host

    def track(self, user_id, event, properties, anonymous_id):
        if not (user_id or anonymous_id):
            raise ValueError("no id")

    def track_tagged(self, user_id, event, properties):
        properties["library"] = "fake"

    def flush(self):
        pass
"""
PROGRAM = SdkProgram(
    imports="from fakesdk import Client",
    setup="client = Client('key', host=URL)",
    track="client.track(user_id={user_id}, event={event}, properties={properties}, anonymous_id={anonymous_id})",
    identify="",
    flush="client.flush()",
)
SPEC = SdkSpec(name="sdk-fake", kind=AdapterKind.SERVER, profile="segment", distribution="fake-sdk",
               import_name="fakesdk", pin="1.0", wire="segment", capabilities=frozenset(),
               description="a fake SDK", program=PROGRAM)  # fmt: skip
ENTRY = ExpectedFailure(requirement="server.ids.at-least-one", reason="SDK: an empty id is an id.")


def test_the_program_makes_the_recorded_calls_and_prints_each_outcome(tmp_path: Path) -> None:
    """The written program is plain SDK code: it runs alone and says which calls the SDK accepted."""
    (tmp_path / "fakesdk.py").write_text(FAKE_SDK)
    calls = [("track", {"event": "a", "properties": {}, "user_id": None, "anonymous_id": ""}, "refused: ValueError"),
             ("track", {"event": "b", "properties": {"k": 1}, "user_id": "u1", "anonymous_id": None}, "accepted"),
             ("flush", {}, "accepted")]  # fmt: skip
    path = tmp_path / "server.ids.at-least-one.py"
    path.write_text(program_text(SPEC, PROGRAM, ENTRY, calls))
    text = path.read_text()
    assert "conformance" not in text.split('"""')[2]  # no import of the suite
    done = subprocess.run([sys.executable, str(path), "http://127.0.0.1:9/segment"], capture_output=True,
                          text=True, check=True, env={**os.environ, "PYTHONPATH": str(tmp_path)})  # fmt: skip
    assert done.stdout.splitlines() == ["call 1 (track): refused: ValueError", "call 2 (track): accepted",
                                        "call 3 (flush): accepted"]  # fmt: skip


def test_the_program_shows_a_dict_of_the_caller_that_the_sdk_changed(tmp_path: Path) -> None:
    """Each dict is the program's own variable: a call that changes it says so, with before and after."""
    (tmp_path / "fakesdk.py").write_text(FAKE_SDK)
    program = SdkProgram(imports=PROGRAM.imports, setup=PROGRAM.setup, identify="", flush="",
                         track="client.track_tagged(user_id={user_id}, event={event}, properties={properties})")  # fmt: skip
    calls = [("track", {"event": "a", "properties": {"k": 1}, "user_id": "u1", "anonymous_id": None},
              accepted_outcome(["properties"]))]  # fmt: skip
    path = tmp_path / "server.arguments.not-retained.py"
    path.write_text(program_text(SPEC, program, ENTRY, calls))
    done = subprocess.run([sys.executable, str(path)], capture_output=True, text=True, check=True,
                          env={**os.environ, "PYTHONPATH": str(tmp_path)})  # fmt: skip
    assert done.stdout.splitlines() == [
        f"call 1 (track): {accepted_outcome(['properties'])}",
        "  properties was {'k': 1}, now {'k': 1, 'library': 'fake'}",
    ]


def test_a_call_the_sdk_program_cannot_write_is_refused() -> None:
    """An operation the SDK's program has no template for raises, naming the SDK and the operation."""
    with pytest.raises(ValueError, match="sdk-fake's program has no identify"):
        program_text(SPEC, PROGRAM, ENTRY, [("identify", {"user_id": "u1", "anonymous_id": None, "traits": {}}, "accepted")])


def test_comparable_events_leave_out_what_differs_between_runs() -> None:
    """Message ids, times and generated UUIDs do not count when a program's events are compared."""
    one = [{"kind": "track", "user_id": "u1", "message_id": "m1", "timestamp": 1,
            "anonymous_id": "6ba7b810-9dad-11d1-80b4-00c04fd430c8"}]  # fmt: skip
    two = [{"kind": "track", "user_id": "u1", "message_id": "m2", "timestamp": 2,
            "anonymous_id": "01234567-89ab-4cde-8f01-23456789abcd"}]  # fmt: skip
    assert comparable(one) == comparable(two)
    assert comparable(one) != comparable([{**one[0], "user_id": "u2"}])
