"""Tests for conformance._collector and conformance._harness: truth, faults and timeouts."""

from __future__ import annotations

import time

import pytest

from conformance import AdapterFailedError, Collector, DeliveryFailedError
from conformance._harness import Harness, StepTimeoutError
from conformance._reference import ReferenceAdapter
from simulator import Event, Kind, get_profile


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
