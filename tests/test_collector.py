"""Tests for conformance.collector.store and conformance.engine.harness: truth, faults and timeouts."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time

import pytest

from conformance import AdapterFailedError, Collector, DeliveryFailedError
from conformance._errors import CollectorOutageError, InvalidInputError, LostAckError
from conformance.adapters.reference import ReferenceAdapter
from conformance.collector.store import LOST_ACK_FAULTS, OUTAGE_FAULTS, SLOW_ANSWER_SECONDS
from conformance.engine.harness import Harness, StepTimeoutError, Workers
from simulator import DeliveryError, Event, Kind, get_profile


def test_drain_returns_arrivals_in_order_once() -> None:
    """drain() returns what arrived since the last drain, in order, then nothing."""
    collector = Collector()
    collector.ingest([Event(Kind.TRACK, "a")])
    collector.ingest([Event(Kind.TRACK, "b")])
    assert [e.name for e in collector.drain()] == ["a", "b"]
    assert collector.drain() == []


def test_fault_records_then_refuses() -> None:
    """An armed fault records the delivery (lost ack) and raises DeliveryFailedError once."""
    collector = Collector()
    collector.fail_next(1)
    with pytest.raises(DeliveryFailedError):
        collector.ingest([Event(Kind.TRACK, "a")])
    collector.ingest([Event(Kind.TRACK, "a")])
    assert len(collector.drain()) == 2
    assert collector.failed_deliveries == 1


@pytest.mark.parametrize("fault", LOST_ACK_FAULTS)
def test_each_lost_ack_fault_records_then_refuses_naming_it(fault: str) -> None:
    """fail_next(count, fault) records each of the next count deliveries, then raises LostAckError(fault)."""
    collector = Collector()
    collector.fail_next(2, fault)
    for _ in range(2):
        with pytest.raises(LostAckError) as refused:
            collector.ingest([Event(Kind.TRACK, "a")])
        assert refused.value.fault == fault
    collector.ingest([Event(Kind.TRACK, "a")])
    assert len(collector.drain()) == 3


@pytest.mark.parametrize("bad", ["404", "malformed", 503, None])
def test_an_unknown_lost_ack_fault_is_refused_naming_the_value(bad: object) -> None:
    """The fault is one of LOST_ACK_FAULTS; anything else is a usage error naming it and its type."""
    with pytest.raises(InvalidInputError, match="503, malformed-200") as refused:
        Collector().fail_next(1, bad)  # type: ignore[arg-type]
    assert type(bad).__name__ in str(refused.value)


def test_the_lost_ack_pool_is_every_lost_ack_fault_but_the_slow_one() -> None:
    """The machines draw every fault the collector knows; ``slow`` has a rule of its own (answer_next_delivery_late)."""
    from conformance.machines.strategies import LOST_ACK_POOL

    assert (*(json.loads(text) for text in LOST_ACK_POOL), "slow") == LOST_ACK_FAULTS


def test_the_outage_pools_hold_every_outage_fault_and_slow_only_for_a_declared_timeout() -> None:
    """An adapter without a request timeout never meets ``slow``; one with it meets every outage fault."""
    from conformance.machines.strategies import OUTAGE_POOL, SLOW_OUTAGE_POOL

    def faults(pool: tuple[str, ...]) -> set[str]:
        return {fault for text in pool for fault in json.loads(text)}

    assert faults(OUTAGE_POOL) == set(OUTAGE_FAULTS) - {"slow"}
    assert faults(SLOW_OUTAGE_POOL) == set(OUTAGE_FAULTS)


@pytest.mark.parametrize("arm", ["fail_next", "outage", "go_down"])
def test_a_slow_fault_answers_as_late_as_it_was_told(arm: str) -> None:
    """answer_after sets how late the HTTP front end answers a ``slow`` fault; in process it fails at once."""
    collector = Collector()
    assert collector.slow_answer_seconds == SLOW_ANSWER_SECONDS
    if arm == "fail_next":
        collector.fail_next(1, "slow", answer_after=2.5)
    elif arm == "outage":
        collector.outage(["slow"], answer_after=2.5)
    else:
        collector.go_down("slow", answer_after=2.5)
    assert collector.slow_answer_seconds == 2.5
    with pytest.raises(DeliveryFailedError) as refused:
        collector.ingest([Event(Kind.TRACK, "a")])
    assert getattr(refused.value, "fault", None) == "slow"
    assert len(collector.drain()) == (1 if arm == "fail_next" else 0)


@pytest.mark.parametrize("bad", [0, -1.0, 121, "2", float("nan"), True])
def test_a_bad_answer_after_is_refused_naming_the_value_and_arms_nothing(bad: object) -> None:
    """answer_after is seconds in (0, 120]; anything else is a usage error naming it and its type."""
    collector = Collector()
    with pytest.raises(InvalidInputError, match="answer_after must be") as refused:
        collector.outage(["slow"], answer_after=bad)  # type: ignore[arg-type]
    assert type(bad).__name__ in str(refused.value)
    collector.ingest([Event(Kind.TRACK, "a")])
    assert collector.slow_answer_seconds == SLOW_ANSWER_SECONDS


def test_an_outage_refuses_without_recording_until_its_faults_are_spent() -> None:
    """Each outage fault refuses one delivery and records nothing; recover() ends it early."""
    collector = Collector()
    collector.outage(["500", "disconnect", "503"])
    for fault in ("500", "disconnect"):
        with pytest.raises(CollectorOutageError) as refused:
            collector.ingest([Event(Kind.TRACK, "a")])
        assert refused.value.fault == fault
    assert collector.recover() == 1
    collector.ingest([Event(Kind.TRACK, "b")])
    assert [e.name for e in collector.drain()] == ["b"]


@pytest.mark.parametrize("bad", ["503", ["404"], [503], None])
def test_an_outage_of_unknown_faults_is_refused_naming_the_value(bad: object) -> None:
    """Faults are a list of the known names; anything else is a usage error naming it."""
    with pytest.raises(InvalidInputError, match="500, 502, 503, 429, disconnect") as refused:
        Collector().outage(bad)  # type: ignore[arg-type]
    assert type(bad if not isinstance(bad, list) else bad[0]).__name__ in str(refused.value)


def test_a_collector_gone_down_refuses_every_delivery_until_it_recovers() -> None:
    """go_down(fault): every delivery meets the fault and nothing is recorded, however many; recover() ends it."""
    collector = Collector()
    collector.go_down("502")
    for _ in range(50):
        with pytest.raises(CollectorOutageError) as refused:
            collector.ingest([Event(Kind.TRACK, "lost")])
        assert refused.value.fault == "502"
    assert collector.failed_deliveries == 50
    assert collector.recover() == 0
    collector.ingest([Event(Kind.TRACK, "after")])
    assert [e.name for e in collector.drain()] == ["after"]
    collector.go_down()
    collector.disarm()
    collector.ingest([Event(Kind.TRACK, "disarmed")])
    assert [e.name for e in collector.drain()] == ["disarmed"]


@pytest.mark.parametrize("bad", ["404", 503, None, "malformed-200"])
def test_going_down_with_an_unknown_fault_is_refused_naming_the_value(bad: object) -> None:
    """go_down takes one of the outage faults; anything else is a usage error naming it and its type."""
    with pytest.raises(InvalidInputError, match="500, 502, 503, 429, disconnect") as refused:
        Collector().go_down(bad)  # type: ignore[arg-type]
    assert type(bad).__name__ in str(refused.value)


def test_the_reference_retries_through_a_short_outage_and_reports_a_long_one() -> None:
    """Two failed deliveries are retried away; five (past its 3 retries) make flush() raise."""
    collector = Collector()
    adapter = ReferenceAdapter(collector)
    adapter.track("x", {}, user_id="u1", anonymous_id=None)
    collector.outage(["503", "disconnect"])
    adapter.flush()
    assert len(collector.drain()) == 1
    adapter.track("y", {}, user_id="u1", anonymous_id=None)
    collector.outage(["500"] * 5)
    with pytest.raises(DeliveryError):
        adapter.flush()
    assert collector.drain() == []


def test_reference_retries_with_the_same_message_ids() -> None:
    """The reference SDK resends a refused batch with identical message ids."""
    collector = Collector()
    adapter = ReferenceAdapter(collector)
    adapter.track("x", {}, user_id="u1", anonymous_id=None)
    collector.fail_next(1)
    adapter.flush()
    first, second = collector.drain()
    assert first.message_id == second.message_id


def _harness(timeout: float) -> Harness:
    collector = Collector()
    return Harness(ReferenceAdapter(collector), collector, get_profile("seed"), step_timeout=timeout)


def test_hung_call_becomes_a_step_timeout() -> None:
    """An adapter call that sleeps past the per-step timeout raises StepTimeoutError."""
    with pytest.raises(StepTimeoutError, match="did not return within 0.2 s"):
        _harness(0.2).call("flush()", time.sleep, 5)


def test_crashing_call_becomes_an_adapter_error() -> None:
    """An exception inside an adapter call becomes AdapterFailedError naming call and cause."""

    def boom() -> None:
        raise RuntimeError("kaput")

    with pytest.raises(AdapterFailedError, match=r"RuntimeError in track\(\): kaput"):
        _harness(1).call("track()", boom)


def test_hung_call_times_out_inside_alarms_and_the_old_handler_returns() -> None:
    """Inside alarms() one handler serves every call; a hang still times out; the old one is back after."""
    harness = _harness(0.2)
    before = signal.getsignal(signal.SIGALRM)
    with harness.alarms():
        assert harness.call("track()", lambda: 1) == 1
        with pytest.raises(StepTimeoutError, match=r"flush\(\) did not return within 0.2 s"):
            harness.call("flush()", time.sleep, 5)
    assert signal.getsignal(signal.SIGALRM) is before


def test_timer_left_running_between_calls_never_fires_outside_a_call() -> None:
    """Inside alarms() the timer outlives a call; firing between calls raises nothing."""
    harness = _harness(0.1)
    with harness.alarms():
        harness.call("track()", lambda: None)
        time.sleep(0.3)  # the timer fires here, outside any adapter call
        assert harness.call("track()", lambda: 2) == 2


def test_every_call_inside_alarms_gets_its_full_step_timeout() -> None:
    """A call that starts late in the running timer's span still gets the whole step_timeout."""
    harness = _harness(0.3)
    with harness.alarms():
        harness.call("track()", lambda: None)
        time.sleep(0.1)
        harness.call("flush()", time.sleep, 0.25)  # ends 0.35 s after the timer was first set
        with pytest.raises(StepTimeoutError, match=r"identify\(\) did not return within 0.3 s"):
            harness.call("identify()", time.sleep, 5)


def test_workers_run_jobs_at_once_and_report_their_exceptions() -> None:
    """Worker threads run every job concurrently (a barrier of all of them passes) and hand back errors."""
    workers = Workers()
    barrier = threading.Barrier(3)
    names: list[str] = []

    def job() -> None:
        barrier.wait(timeout=5)
        names.append(threading.current_thread().name)

    def failing() -> None:
        barrier.wait(timeout=5)
        raise ValueError("bad")

    interval = sys.getswitchinterval()
    try:
        errors = workers.run([job, job, failing], timeout=5)
        assert sys.getswitchinterval() == interval  # the finer interval lasts only the run
        assert errors is not None
        assert [type(e) for e in errors] == [ValueError]
        assert len(set(names)) == 2
        assert workers.run([job, job, job], timeout=5) == []  # the same threads serve again
        assert workers.run([], timeout=5) == []
    finally:
        workers.close()


def test_workers_report_a_hung_job_and_start_afresh() -> None:
    """A job that outlives the timeout gives None; the next run gets new threads and works."""
    workers = Workers()
    release = threading.Event()
    try:
        assert workers.run([lambda: release.wait(5) and None], timeout=0.1) is None
        assert workers.run([lambda: None], timeout=5) == []
    finally:
        release.set()
        workers.close()
