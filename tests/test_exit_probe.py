"""Tests for conformance.engine.exit_probe: what a server SDK does when its process ends."""

from __future__ import annotations

from typing import Any

import pytest

from conformance import RunSettings, Verdict, load_adapter, run
from conformance.adapters.protocol import ServerCall
from conformance.adapters.reference import ReferenceAdapter

FAST = RunSettings(max_examples=5, step_count=5)
EXIT_RULES = ("server.exit.bounded", "server.exit.delivers")
TOLD = "delivery.outage.no-silent-loss"


def _verdicts(result: Any) -> dict[str, Verdict]:
    return {r.requirement: r.verdict for r in result.results}


def test_the_reference_exits_at_once_and_delivers_what_it_queued() -> None:
    """The reference's exit hook flushes: both exit rules pass, and its loss during an outage is told."""
    result = run(ReferenceAdapter, run_settings=FAST)
    found = _verdicts(result)
    assert [found[r] for r in EXIT_RULES] == [Verdict.PASS, Verdict.PASS]
    assert found[TOLD] is Verdict.PASS
    bounded = next(r for r in result.results if r.requirement == "server.exit.bounded")
    assert bounded.checks == 2  # once with the collector up, once down


@pytest.mark.parametrize(("mutant", "requirement"), [
    ("mutant-server-exit-drops-queue", "server.exit.delivers"),
    ("mutant-server-exit-hook-blocks", "server.exit.bounded"),
    ("mutant-server-retries-forever", "server.exit.bounded"),
    ("mutant-server-exit-loss-silent", TOLD),
])  # fmt: skip
def test_exit_mutants_fail_the_rule_they_break_and_name_the_program(mutant: str, requirement: str) -> None:
    """A lost queue or a blocking exit hook fails its rule; the reproducer is the child's program."""
    result = run(load_adapter(mutant), run_settings=FAST)
    failing = next(r for r in result.results if r.requirement == requirement)
    assert failing.verdict is Verdict.FAIL
    assert failing.reproducer is not None
    assert "adapter.track('Exit Probe 1" in failing.reproducer
    for other in {*EXIT_RULES, TOLD} - {requirement}:
        assert _verdicts(result)[other] is Verdict.PASS, other


def test_an_outage_exit_failure_says_the_collector_was_down_and_how_to_stage_it() -> None:
    """A process that never exits during an outage is reported as such; the reproducer names ``--down 503``."""
    result = run(load_adapter("mutant-server-retries-forever"), run_settings=FAST)
    failing = next(r for r in result.results if r.requirement == "server.exit.bounded")
    assert [v.message[:57] for v in failing.violations] == ["while the collector answered every delivery with 503, a p"]
    assert failing.reproducer is not None
    assert "identity-conformance collector --down 503" in failing.reproducer
    assert "logging.basicConfig(level=logging.WARNING)" in failing.reproducer


class _CallsBlockWhileDown(ReferenceAdapter):
    """Its program's calls wait a minute when a delivery fails (a sync SDK that sleeps out an outage)."""

    def exit_program(self, calls: Any) -> str:
        program = super().exit_program(calls)
        stall = ("try:\n    adapter.flush()\nexcept Exception:\n    __import__('time').sleep(60)\n")
        return program.replace("print(", stall + "print(", 1)


def test_calls_that_block_while_the_collector_is_down_are_killed_and_reported() -> None:
    """A process whose calls do not return during an outage fails the exit bound; it is killed, not waited for."""
    result = run(_CallsBlockWhileDown, run_settings=FAST)
    failing = next(r for r in result.results if r.requirement == "server.exit.bounded")
    assert failing.verdict is Verdict.FAIL
    assert ["had not returned from its calls" in v.message for v in failing.violations] == [True]
    assert result.seconds < 60


class _BadExitProgram(ReferenceAdapter):
    def exit_program(self, calls: Any) -> str:
        del calls
        return "raise SystemExit(3)\n"


class _NotAProgram(ReferenceAdapter):
    def exit_program(self, calls: Any) -> Any:
        del calls
        return 42


@pytest.mark.parametrize(("adapter", "reason"), [
    (_BadExitProgram, "did not print its done line"),
    (_NotAProgram, "must return Python source text"),
])  # fmt: skip
def test_an_exit_program_that_cannot_run_is_an_error_of_both_rules_never_a_pass(adapter: Any, reason: str) -> None:
    """A program that dies before its calls, or is not text, is an ERROR naming why."""
    result = run(adapter, run_settings=FAST)
    for rule in EXIT_RULES:
        decided = next(r for r in result.results if r.requirement == rule)
        assert decided.verdict is Verdict.ERROR
        assert reason in decided.reason
    assert result.exit_code == 1


def test_sdk_exit_programs_are_the_sdk_calls_and_nothing_after_them() -> None:
    """A built-in SDK adapter's exit program builds a client, tracks, prints the done line, and stops."""
    from conformance import Collector
    from conformance.adapters.sdk import spec_named

    spec = spec_named("sdk-posthog")
    pytest.importorskip(spec.import_name)
    collector = Collector()
    adapter = spec.load(collector)
    try:
        text = adapter.exit_program([ServerCall("e", {"n": 1}, "u1", None)])
    finally:
        adapter.shutdown()
        collector.close()
    lines = text.strip().splitlines()
    assert lines[0] == "from posthog import Posthog"
    assert "client.capture('e', distinct_id='u1', properties={'n': 1})" in text
    assert lines[-1] == "print('identity-conformance: exit probe calls done', flush=True)"
    assert "flush()" not in text
    assert "shutdown()" not in text
