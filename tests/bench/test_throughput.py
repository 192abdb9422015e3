"""Benchmarks (issue 12): collector decode throughput, each SDK's track(), resolver scaling.

Run only in the ``bench`` tox env; marked ``slow``, they report and never assert a timing.

- **Decode**: one request body per wire format, as each server SDK posts it (a batch of
  ``BATCH`` events; Mixpanel's ``/track`` takes a form body of up to 50), decoded by
  :func:`~conformance.collector.wire.routing.decode_request` exactly as the HTTP front end
  calls it, minus the socket. Events per second on one core, best of ``ROUNDS``. Target:
  at least 50,000 events/s for Segment-style batches.
- **SDK track()**: microseconds per server ``track()`` through every installed SDK's
  adapter (sync and default modes), next to the reference adapter's, in one run.
- **Resolver**: :func:`simulator.resolve` over 1e3 to 1e6 events (a stream where anonymous
  ids are identified later, under each link mechanism). Events per second at each size;
  target: within 2x of each other across the range (no super-linear step).

Writes ``reports/bench-throughput.json``.
"""

from __future__ import annotations

import base64
import gzip
import json
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("pytest_benchmark")

from conformance.collector.wire.routing import decode_request
from simulator import Event, Kind
from simulator._profiles import Link
from simulator._resolver import resolve

pytestmark = pytest.mark.slow

REPORT = Path(__file__).resolve().parents[2] / "reports" / "bench-throughput.json"
BATCH = 100
ROUNDS = 20
RESOLVER_SIZES = (1_000, 10_000, 100_000, 1_000_000)
JSON_HEADERS = {"Content-Type": "application/json"}

Benchmark = Any  # pytest-benchmark's fixture has no public type


def _segment(i: int) -> dict[str, Any]:
    return {"type": "track", "event": "Order Completed", "userId": f"user-{i % 97}", "anonymousId": f"anon-{i}",
            "properties": {"plan": "pro", "seats": i % 7, "price": 9.5}, "integrations": {},
            "context": {"library": {"name": "analytics-python", "version": "2.4.0"}},
            "timestamp": "2025-01-01T00:00:00.000+00:00", "messageId": f"9f1c2d3e-0000-4000-8000-{i:012d}"}  # fmt: skip


def _posthog(i: int) -> dict[str, Any]:
    return {"event": "Order Completed", "distinct_id": f"user-{i % 97}", "timestamp": "2025-01-01T00:00:00+00:00",
            "uuid": f"0190c0de-0000-7000-8000-{i:012d}",
            "properties": {"plan": "pro", "seats": i % 7, "$lib": "posthog-python", "$lib_version": "7.91.1",
                           "$geoip_disable": True, "$is_server": True}}  # fmt: skip


def _amplitude(i: int) -> dict[str, Any]:
    return {"event_type": "Order Completed", "user_id": f"user-{i % 97}", "device_id": f"anon-{i}",
            "event_properties": {"plan": "pro", "seats": i % 7}, "insert_id": f"ins-{i}",
            "library": "amplitude-python/1.3.0", "time": 1735689600000 + i}  # fmt: skip


def _mixpanel(i: int) -> dict[str, Any]:
    return {"event": "Order Completed", "properties": {
        "token": "TOKEN", "distinct_id": f"user-{i % 97}", "time": 1735689600.123, "$insert_id": f"{i:032x}",
        "mp_lib": "python", "$lib_version": "5.4.1", "plan": "pro", "seats": i % 7}}  # fmt: skip


def _snowplow(i: int) -> dict[str, Any]:
    envelope = {"schema": "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0",
                "data": {"schema": "iglu:dev.identity-conformance/Order Completed/jsonschema/1-0-0",
                         "data": {"plan": "pro", "seats": i % 7}}}  # fmt: skip
    return {"e": "ue", "ue_px": base64.urlsafe_b64encode(json.dumps(envelope).encode()).decode().rstrip("="),
            "uid": f"user-{i % 97}", "duid": f"anon-{i}", "eid": f"eid-{i}", "dtm": "1735689600000",
            "stm": "1735689600000", "tv": "py-1.1.0", "tna": "ns", "p": "srv"}  # fmt: skip


def requests() -> dict[str, tuple[str, dict[str, str], bytes, int]]:
    """Per wire format: (path, headers, body, events in it), as the Python SDKs post them."""
    segment = json.dumps({"batch": [_segment(i) for i in range(BATCH)], "sentAt": "2025-01-01T00:00:00+00:00"})
    mixpanel = urllib.parse.urlencode({"data": json.dumps([_mixpanel(i) for i in range(50)]), "verbose": "1"})
    snowplow = {"schema": "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4",
                "data": [_snowplow(i) for i in range(BATCH)]}  # fmt: skip
    return {
        "segment": ("/segment/v1/batch", JSON_HEADERS, segment.encode(), BATCH),
        "rudderstack (gzip)": ("/rudderstack/v1/batch", {**JSON_HEADERS, "Content-Encoding": "gzip"},
                               gzip.compress(segment.encode()), BATCH),  # fmt: skip
        "posthog": ("/posthog/batch/", JSON_HEADERS,
                    json.dumps({"batch": [_posthog(i) for i in range(BATCH)], "api_key": "phc_KEY"}).encode(), BATCH),
        "amplitude": ("/amplitude/2/httpapi", JSON_HEADERS,
                      json.dumps({"api_key": "KEY", "events": [_amplitude(i) for i in range(BATCH)]}).encode(), BATCH),
        "mixpanel": ("/mixpanel/track", {"Content-Type": "application/x-www-form-urlencoded"}, mixpanel.encode(), 50),
        "snowplow": ("/snowplow/com.snowplowanalytics.snowplow/tp2", JSON_HEADERS, json.dumps(snowplow).encode(),
                     BATCH),  # fmt: skip
    }


def best_seconds(call: Callable[[], object], rounds: int = ROUNDS) -> float:
    """The fastest of ``rounds`` calls, in seconds."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - started)
    return best


@pytest.fixture(scope="module")
def figures() -> Iterator[dict[str, Any]]:
    """Collect this module's figures; write reports/bench-throughput.json at the end."""
    collected: dict[str, Any] = {}
    yield collected
    if {"decode_events_per_second", "resolver_events_per_second"} <= set(collected):
        REPORT.write_text(json.dumps(collected, indent=2) + "\n", encoding="utf-8")


@pytest.mark.benchmark(group="throughput")
def test_collector_decode_throughput(benchmark: Benchmark, figures: dict[str, Any]) -> None:
    """Events per second that the collector decodes, per wire format (each body decodes in full)."""
    rates: dict[str, float] = {}

    def measure() -> None:
        for vendor, (path, headers, body, count) in requests().items():
            decoded = decode_request("POST", path, headers, body)
            assert len(decoded.events) == count, (vendor, len(decoded.events))
            seconds = best_seconds(lambda p=path, h=headers, b=body: decode_request("POST", p, h, b))
            rates[vendor] = round(count / seconds)

    benchmark.pedantic(measure, rounds=1, iterations=1)
    figures["decode_events_per_second"] = rates
    figures["decode_target_events_per_second"] = 50_000
    benchmark.extra_info.update(rates)


def resolver_stream(size: int) -> list[Event]:
    """``size`` events: anonymous tracks, each anonymous id identified by a later event."""
    events = []
    for i in range(size):
        anon = f"anon-{i // 4}"
        if i % 4 == 3:
            events.append(Event(kind=Kind.IDENTIFY, user_id=f"user-{i // 8}", anonymous_id=anon,
                                previous_id=anon, distinct_id=f"user-{i // 8}", device_id=anon))  # fmt: skip
        else:
            events.append(Event(kind=Kind.TRACK, name="Viewed", anonymous_id=anon, distinct_id=anon,
                                device_id=anon))  # fmt: skip
    return events


@pytest.mark.benchmark(group="throughput")
def test_resolver_throughput_across_sizes(benchmark: Benchmark, figures: dict[str, Any]) -> None:
    """simulator.resolve's events per second from 1e3 to 1e6 events, per link mechanism."""
    rates: dict[str, dict[str, float]] = {}

    def measure() -> None:
        for size in RESOLVER_SIZES:
            events = resolver_stream(size)
            rounds = max(3, min(ROUNDS, 100_000 // size))  # best of 3 at least: one round is noise
            for link in Link:
                seconds = best_seconds(lambda e=events, k=link: resolve(e, k), rounds)
                rates.setdefault(link.value, {})[str(size)] = round(size / seconds)
            del events

    benchmark.pedantic(measure, rounds=1, iterations=1)
    figures["resolver_events_per_second"] = rates
    figures["resolver_max_over_min"] = {link: round(max(r.values()) / min(r.values()), 2)
                                        for link, r in rates.items()}  # fmt: skip
    figures["resolver_target_max_over_min"] = 2.0
    benchmark.extra_info.update({k: str(v) for k, v in rates.items()})


SDK_CALLS = 200
"""track() calls per round per SDK: a sync-mode call is an HTTP POST (about a millisecond)."""


@pytest.mark.benchmark(group="throughput")
def test_each_sdk_track_cost_beside_the_reference(benchmark: Benchmark, figures: dict[str, Any]) -> None:
    """Microseconds per server track() through each installed SDK's adapter and through the reference.

    Each adapter posts to a loopback collector as in its tox env: a sync-mode track includes
    the HTTP round trip, a default-mode one only enqueues (the flush after each round is not
    counted). The ratio is SDK over reference, measured in this run.
    """
    from conformance import Collector
    from conformance.adapters.reference import ReferenceAdapter
    from conformance.adapters.sdk import sdk_specs

    costs: dict[str, float] = {}

    def per_call_us(adapter: Any) -> float:
        best = float("inf")
        for round_number in range(3):
            started = time.perf_counter()
            for i in range(SDK_CALLS):
                adapter.track("Order Completed", {"plan": "pro", "seats": i}, user_id=f"user-{i % 7}",
                              anonymous_id=f"anon-{round_number}-{i}")  # fmt: skip
            best = min(best, time.perf_counter() - started)
            adapter.flush()
        return best / SDK_CALLS * 1e6

    def measure() -> None:
        reference = ReferenceAdapter(Collector())
        try:
            costs["reference"] = per_call_us(reference)
        finally:
            reference.shutdown()
        for spec in sdk_specs():
            if not spec.installed:
                continue
            collector = Collector()
            adapter = spec.load(collector)
            try:
                costs[spec.name] = per_call_us(adapter)
            finally:
                adapter.shutdown()
                collector.close()

    benchmark.pedantic(measure, rounds=1, iterations=1)
    figures["track_us"] = {name: round(us, 1) for name, us in costs.items()}
    figures["track_vs_reference"] = {name: round(us / costs["reference"], 1) for name, us in costs.items()
                                     if name != "reference"}  # fmt: skip
