"""Benchmarks: the reference client's hot path, and the conformance machines' rule-step rate.

Run only in the ``bench`` tox env (``tox run -e bench``); they are marked ``slow`` so the
fast test envs deselect them. They report and never assert a timing. Two comparisons:

- ``ReferenceClient.track`` against the cheapest thing a client could do instead, appending
  a plain event dict to a list. Every round makes ``CALLS`` calls on an emptied list or
  outbox, so garbage-collector pressure from a growing queue distorts neither side.
- the step rate of the conformance machines (``build_machines`` around the reference
  adapter, seed profile) against a trivial ``RuleBasedStateMachine`` under the same
  settings: the price of the model, the checks and the notes per rule step. The machines
  take turns round by round and the best round of each counts, so machine noise does not
  land on one side of the ratio only.

The module writes ``reports/bench.json`` with the per-call times, step rates and ratios,
all from runs that take turns (``test_track_ratios``, ``test_step_rates``); the separate
per-case benchmarks only fill pytest-benchmark's table.
"""

from __future__ import annotations

import gc
import http.client
import json
import statistics
import subprocess
import sys
import time
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest

pytest.importorskip("pytest_benchmark")

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    rule,
)

from conformance import Collector
from conformance.adapters.jsonl import command_factory
from conformance.adapters.reference import ReferenceAdapter
from conformance.engine.harness import Harness
from conformance.machines import build_machines, run_machine
from simulator import ReferenceSDK, get_profile
from simulator._outbox import snapshot

pytestmark = pytest.mark.slow

REPORT = Path(__file__).resolve().parents[2] / "reports" / "bench.json"
CALLS = 1_000
"""Calls per round: one call is far below the timer's resolution."""
ROUNDS = 200
NAME = "Order Completed"
PROPERTIES = {"plan": "pro", "seats": 3, "price": 9.5, "trial": False}
STEP_SETTINGS = settings(
    max_examples=30,
    stateful_step_count=25,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),  # as the engine runs the machines
)
MACHINE_ROUNDS = 15
"""Rounds of each machine run (see interleaved_rates and rate_ratio)."""

Benchmark = Any  # pytest-benchmark's fixture has no public type


@pytest.fixture(scope="module")
def figures() -> Iterator[dict[str, float]]:
    """Collect the figures of this module's benchmarks; write reports/bench.json at the end."""
    collected: dict[str, float] = {}
    yield collected
    needed = ("track_ns", "dict_append_ns", "step_rate_reference", "step_rate_trivial")
    if not all(key in collected for key in needed):
        return  # a benchmark was deselected or ran with --benchmark-disable
    report = {
        "track_vs_dict_append_ratio": round(collected["track_ns"] / collected["dict_append_ns"], 2),
        "track_ns": round(collected["track_ns"], 1),
        "dict_append_ns": round(collected["dict_append_ns"], 1),
        "step_rate_reference": round(collected["step_rate_reference"], 1),
        "step_rate_trivial": round(collected["step_rate_trivial"], 1),
        "track_no_properties_ns": round(collected.get("track_no_properties_ns", 0.0), 1),
        "track_no_properties_vs_dict_append_ratio": round(
            collected.get("track_no_properties_ns", float("nan")) / collected["dict_append_ns"], 2
        ),
        "dict_append_copy_ns": round(collected.get("dict_append_copy_ns", 0.0), 1),
        "track_vs_dict_append_with_copy_ratio": round(
            collected["track_ns"] / collected.get("dict_append_copy_ns", float("nan")), 2
        ),
        "dict_append_snapshot_ns": round(collected.get("dict_append_snapshot_ns", 0.0), 1),
        "track_vs_dict_append_with_snapshot_ratio": round(
            collected["track_ns"] / collected.get("dict_append_snapshot_ns", float("nan")), 2
        ),
        "step_rate_bare_twins": round(collected.get("step_rate_bare_twins", 0.0), 1),
        "reference_vs_trivial_rate": round(
            collected["step_rate_reference"] / collected["step_rate_trivial"], 3
        ),
        "reference_vs_bare_twins_rate": round(
            collected["step_rate_reference"] / collected.get("step_rate_bare_twins", float("nan")), 3
        ),
        "bare_twins_vs_trivial_rate": round(
            collected.get("step_rate_bare_twins", float("nan")) / collected["step_rate_trivial"], 3
        ),
        # the median over rounds of each round's own ratio: less sensitive to one quiet round
        "reference_vs_trivial_paired_median": round(collected.get("reference_vs_trivial_paired", float("nan")), 3),
        "reference_vs_bare_twins_paired_median": round(collected.get("reference_vs_bare_twins_paired", float("nan")), 3),
        "bare_twins_vs_trivial_paired_median": round(collected.get("bare_twins_vs_trivial_paired", float("nan")), 3),
        # the same pair without the rule that runs real threads (its twin does nothing)
        "reference_no_threads_vs_bare_twins_no_threads_paired_median": round(
            collected.get("reference_no_threads_vs_bare_twins_no_threads_paired", float("nan")), 3),
        # issue 11's goal: the reference over JSON lines keeps >= 0.7 of the in-process rate
        "step_rate_jsonl_reference": round(collected.get("step_rate_jsonl_reference", 0.0), 1),
        "jsonl_vs_in_process_rate": round(
            collected.get("step_rate_jsonl_reference", float("nan")) / collected["step_rate_reference"], 3
        ),
        "jsonl_vs_in_process_paired_median": round(collected.get("jsonl_vs_in_process_paired", float("nan")), 3),
        # what a JSON-lines step pays on top, from the same run (test_jsonl_costs)
        "pipe_round_trip_us": round(collected.get("pipe_round_trip_us", 0.0), 1),
        "jsonl_track_round_trip_us": round(collected.get("jsonl_track_round_trip_us", 0.0), 1),
        "collector_post_us": round(collected.get("collector_post_us", 0.0), 1),
    }
    REPORT.parent.mkdir(exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")


def per_call_ns(benchmark: Benchmark) -> float | None:
    """The time of one call in the fastest round, in nanoseconds; None when timing is disabled.

    The fastest round, not the median: on a shared machine noise only adds time, and both
    sides of every ratio are measured the same way.
    """
    stats = getattr(benchmark, "stats", None)
    if stats is None:
        return None
    return float(stats.stats.min) / CALLS * 1e9


# -- (a)-(c): the track hot path against a dict append ----------------------------------------------
def track_cases() -> tuple[dict[str, Callable[[], None]], Callable[[], None]]:
    """The timed cases, each making ``CALLS`` calls, and the function that empties their queues.

    - ``dict_append_ns``: append a plain Segment-shaped event dict to a list;
    - ``dict_append_copy_ns``: the same, holding a shallow copy of the properties (keeping
      the caller's dict is the carry-over bug ``mutant-properties-by-reference``);
    - ``dict_append_snapshot_ns``: the same, holding ``simulator``'s snapshot of the
      properties: a copy that later changes to nested objects cannot reach either (a shallow
      copy is ``mutant-properties-shallow-copy``), which is the least a correct SDK stores;
    - ``track_no_properties_ns`` / ``track_ns``: ``ReferenceClient.track`` on an anonymous
      client without and with the four flat properties.
    """
    anonymous_id = "2f1c4a9e-0b7d-4c1e-9a55-7d3e8f6b1c20"
    sink: list[dict[str, Any]] = []
    sdk = ReferenceSDK(seed=1)
    client = sdk.open_client("bench-device")
    queue = sdk.outbox.pending

    def dict_append() -> None:
        append = sink.append
        for _ in range(CALLS):
            append({"type": "track", "event": NAME, "userId": None,
                    "anonymousId": anonymous_id, "properties": PROPERTIES})  # fmt: skip

    def dict_append_copy() -> None:
        append = sink.append
        for _ in range(CALLS):
            append({"type": "track", "event": NAME, "userId": None,
                    "anonymousId": anonymous_id, "properties": dict(PROPERTIES)})  # fmt: skip

    def dict_append_snapshot() -> None:
        append = sink.append
        for _ in range(CALLS):
            append({"type": "track", "event": NAME, "userId": None,
                    "anonymousId": anonymous_id, "properties": snapshot(PROPERTIES)})  # fmt: skip

    def track_no_properties() -> None:
        track = client.track
        for _ in range(CALLS):
            track(NAME, None)

    def track_properties() -> None:
        track = client.track
        for _ in range(CALLS):
            track(NAME, PROPERTIES)

    def empty() -> None:
        sink.clear()
        queue.clear()

    cases = {"dict_append_ns": dict_append, "dict_append_copy_ns": dict_append_copy,
             "dict_append_snapshot_ns": dict_append_snapshot,
             "track_no_properties_ns": track_no_properties, "track_ns": track_properties}  # fmt: skip
    return cases, empty


@pytest.mark.benchmark(group="track-vs-dict-append")
@pytest.mark.parametrize(
    "case",
    ["dict_append_ns", "dict_append_copy_ns", "dict_append_snapshot_ns", "track_no_properties_ns",
     "track_ns"],  # fmt: skip
)
def test_track_case(benchmark: Benchmark, case: str) -> None:
    """One case of track_cases() on its own, for pytest-benchmark's table."""
    cases, empty = track_cases()
    gc.collect()  # every case starts from the same collector state
    benchmark.pedantic(cases[case], setup=empty, rounds=ROUNDS, iterations=1, warmup_rounds=5)
    ns = per_call_ns(benchmark)
    if ns is not None:
        benchmark.extra_info["per_call_ns"] = round(ns, 1)


@pytest.mark.benchmark(group="track-ratios")
def test_track_ratios(benchmark: Benchmark, figures: dict[str, float]) -> None:
    """The figures of reports/bench.json: the cases of track_cases(), taking turns round by round.

    Each case keeps its fastest round (noise only adds time); taking turns puts all of them
    under the same machine and collector state, which separate benchmarks do not.
    """
    cases, empty = track_cases()
    best: dict[str, float] = dict.fromkeys(cases, float("inf"))

    def measure() -> None:
        for _ in range(ROUNDS):
            for name, case in cases.items():
                empty()
                started = time.perf_counter()
                case()
                best[name] = min(best[name], time.perf_counter() - started)

    benchmark.pedantic(measure, rounds=1, iterations=1)
    for name, seconds in best.items():
        figures[name] = seconds / CALLS * 1e9
        benchmark.extra_info[name] = round(figures[name], 1)


# -- (d): rule steps per second ---------------------------------------------------------------------
class CounterMachine(RuleBasedStateMachine):
    """A trivial machine: five rules on one counter and one invariant."""

    steps = 0

    def __init__(self) -> None:
        """Start at zero."""
        super().__init__()
        self.value = 0

    @rule()
    def increment(self) -> None:
        """Add one."""
        CounterMachine.steps += 1
        self.value += 1

    @rule()
    def decrement(self) -> None:
        """Subtract one."""
        CounterMachine.steps += 1
        self.value -= 1

    @rule(amount=st.integers(0, 10))
    def add(self, amount: int) -> None:
        """Add a drawn amount."""
        CounterMachine.steps += 1
        self.value += amount

    @rule()
    def double(self) -> None:
        """Double the value."""
        CounterMachine.steps += 1
        self.value *= 2

    @rule()
    def clear(self) -> None:
        """Back to zero."""
        CounterMachine.steps += 1
        self.value = 0

    @invariant()
    def is_an_int(self) -> None:
        """The value stays an int."""
        assert type(self.value) is int


TRIVIAL_RUNS = 2
"""Counter-machine runs per round: as many Hypothesis runs as the two conformance machines,
so a round of each side lasts about as long and meets as much machine noise."""


def run_trivial() -> int:
    """Run the counter machine ``TRIVIAL_RUNS`` times; return the rule steps taken.

    Every machine of this module runs through ``run_machine``, as the engine runs them.
    Handed a class, Hypothesis digests its source on every run (it parses the whole
    module to find it); that cost per run is not a rule step, and a counter machine that
    paid it while the conformance machines did not ran 33-46% slower than it should.
    """
    CounterMachine.steps = 0
    for _ in range(TRIVIAL_RUNS):
        run_machine(CounterMachine, STEP_SETTINGS)
    return CounterMachine.steps


def run_machines(harness: Harness) -> None:
    """Run the conformance machines over ``harness`` once, as the engine runs them."""
    with harness.alarms():
        for machine in build_machines(harness):
            run_machine(machine, STEP_SETTINGS)


class ReferenceWithoutThreads(ReferenceAdapter):
    """The reference SDK declaring no ``threads``: its machines have no ``concurrent_calls`` rule.

    That rule really starts and joins 2 to 32 threads (the behaviour under test), where
    its twin does nothing; the pair without it shows what the other rules cost.
    """

    def __init__(self, collector: Collector) -> None:
        super().__init__(collector)
        self._info = attrs.evolve(self._info, capabilities=self._info.capabilities - {"threads"})


def run_reference(adapter: type[ReferenceAdapter] = ReferenceAdapter) -> int:
    """Run the conformance machines around the reference adapter once; return the rule steps."""
    collector = Collector()
    harness = Harness(adapter(collector), collector, get_profile("seed"))
    run_machines(harness)
    harness.close()
    return harness.steps


class JsonlReference:
    """The reference SDK in a child process behind the JSON-lines protocol, as ``cmd:`` runs it.

    One child and one harness for the whole benchmark, as one adapter serves a whole run
    (the harness gives every example its own storage keys): the child's start is not a
    rule step.
    """

    COMMAND = f"cmd:{sys.executable} -m conformance.adapters.jsonl_child reference"

    def __init__(self) -> None:
        collector = Collector()
        self.adapter = command_factory(self.COMMAND)(collector)
        self.harness = Harness(self.adapter, collector, get_profile("seed"))

    def run(self) -> int:
        """Run the conformance machines over the child once; return the rule steps."""
        before = self.harness.steps
        run_machines(self.harness)
        return self.harness.steps - before

    def close(self) -> None:
        """End the worker threads and the child."""
        self.harness.close()
        self.adapter.shutdown()


def bare_twins(harness: Harness) -> list[type[RuleBasedStateMachine]]:
    """Machines with the conformance rules' names and strategies but bodies that do nothing.

    Against these, the ratio isolates what the suite adds per step (model, SDK call,
    checks), since Hypothesis's own cost of drawing the same data is on both sides.
    """
    twins: list[type[RuleBasedStateMachine]] = []
    for machine in build_machines(harness):
        namespace: dict[str, Any] = {"steps": 0}
        for name in dir(machine):
            marker = getattr(getattr(machine, name, None), "hypothesis_stateful_rule", None)
            if marker is None:
                continue

            def noop(self: Any, **kwargs: Any) -> None:
                type(self).steps += 1

            noop.__name__ = name
            namespace[name] = rule(**marker.arguments)(noop)
        twins.append(type(f"Bare{machine.__name__}", (RuleBasedStateMachine,), namespace))
    return twins


def run_bare_twins(adapter: type[ReferenceAdapter] = ReferenceAdapter) -> int:
    """Run the no-op twins of the conformance machines once; return the rule steps."""
    collector = Collector()
    harness = Harness(adapter(collector), collector, get_profile("seed"))
    steps = 0
    for twin in bare_twins(harness):
        run_machine(twin, STEP_SETTINGS)
        steps += twin.steps  # type: ignore[attr-defined]
    return steps


def interleaved_rates(
    runs: dict[str, Callable[[], int]], rounds: int
) -> dict[str, list[float]]:
    """Steps per second of each run in each of ``rounds`` rounds, the runs taking turns.

    Taking turns puts every run under the same machine noise. Each run starts from a
    collected heap, so none pays for the garbage of the one before it.
    """
    rates: dict[str, list[float]] = {name: [] for name in runs}
    for _ in range(rounds):
        for name, run in runs.items():
            gc.collect()
            started = time.perf_counter()
            steps = run()
            rates[name].append(steps / (time.perf_counter() - started))
    return rates


def rate_ratio(rates: dict[str, list[float]], run: str, baseline: str) -> tuple[float, float]:
    """``run``'s rate over ``baseline``'s, two ways: best round over best round, and median.

    The median is of the rounds' own ratios: each round's pair of runs met the same noise.
    """
    best = max(rates[run]) / max(rates[baseline])
    paired = statistics.median(a / b for a, b in zip(rates[run], rates[baseline], strict=True))
    return best, paired


@pytest.mark.benchmark(group="rule-steps")
def test_step_rates(benchmark: Benchmark, figures: dict[str, float]) -> None:
    """Rule steps per second: trivial counter machine, no-op twins and the reference, in turns."""
    rates: dict[str, list[float]] = {}
    child = JsonlReference()
    runs = {"trivial": run_trivial, "bare_twins": run_bare_twins, "reference": run_reference,
            "bare_twins_no_threads": lambda: run_bare_twins(ReferenceWithoutThreads),
            "reference_no_threads": lambda: run_reference(ReferenceWithoutThreads),
            "jsonl_reference": child.run}  # fmt: skip
    try:
        benchmark.pedantic(lambda: rates.update(interleaved_rates(runs, MACHINE_ROUNDS)),
                           rounds=1, iterations=1)  # fmt: skip
    finally:
        child.close()
    benchmark.extra_info.update({f"steps_per_second_{k}": round(max(v), 1) for k, v in rates.items()})
    figures["step_rate_trivial"] = max(rates["trivial"])
    figures["step_rate_bare_twins"] = max(rates["bare_twins"])
    figures["step_rate_reference"] = max(rates["reference"])
    figures["reference_vs_trivial_paired"] = rate_ratio(rates, "reference", "trivial")[1]
    figures["reference_vs_bare_twins_paired"] = rate_ratio(rates, "reference", "bare_twins")[1]
    figures["bare_twins_vs_trivial_paired"] = rate_ratio(rates, "bare_twins", "trivial")[1]
    figures["reference_no_threads_vs_bare_twins_no_threads_paired"] = rate_ratio(
        rates, "reference_no_threads", "bare_twins_no_threads")[1]
    figures["step_rate_jsonl_reference"] = max(rates["jsonl_reference"])
    figures["jsonl_vs_in_process_paired"] = rate_ratio(rates, "jsonl_reference", "reference")[1]


# -- (e): what the JSON-lines protocol costs per call ------------------------------------------------
PING_CHILD = """
import sys
out = sys.stdout.buffer
for line in sys.stdin.buffer:
    out.write(line)
    out.flush()
"""
ROUND_TRIPS = 2_000


def best_per_call_us(call: Callable[[], object], calls: int, rounds: int = 5) -> float:
    """Microseconds per call in the fastest of ``rounds`` rounds of ``calls`` calls."""
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(calls):
            call()
        best = min(best, time.perf_counter() - started)
    return best / calls * 1e6


@pytest.mark.benchmark(group="jsonl-costs")
def test_jsonl_costs(benchmark: Benchmark, figures: dict[str, float]) -> None:
    """The costs under a JSON-lines step, measured beside the step rates.

    A bare pipe round trip to a Python child that echoes a line, a client track through the
    protocol (the reference child), and one Segment batch POST to the collector (what the
    child's flush does; the in-process reference hands its events to the store instead).
    """
    echo = subprocess.Popen([sys.executable, "-c", PING_CHILD], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE)  # fmt: skip
    assert echo.stdin is not None
    assert echo.stdout is not None
    line = json.dumps({"id": 1, "op": "track", "client": "c1", "name": NAME, "properties": PROPERTIES}).encode() + b"\n"

    def ping() -> None:
        echo.stdin.write(line)  # type: ignore[union-attr]
        echo.stdin.flush()  # type: ignore[union-attr]
        echo.stdout.readline()  # type: ignore[union-attr]

    child = JsonlReference()
    client = child.adapter.open_client("bench-device")
    collector = Collector()
    url = urllib.parse.urlsplit(collector.url_for("segment"))
    body = json.dumps({"batch": [{"type": "track", "event": NAME, "userId": "u1", "messageId": f"m{i}",
                                  "properties": PROPERTIES} for i in range(5)]}).encode()  # fmt: skip

    def post() -> None:
        connection = http.client.HTTPConnection(url.hostname or "127.0.0.1", url.port, timeout=30)
        connection.request("POST", url.path + "/v1/batch", body, {"Content-Type": "application/json"})
        connection.getresponse().read()
        connection.close()

    def measure() -> None:
        figures["pipe_round_trip_us"] = best_per_call_us(ping, ROUND_TRIPS)
        figures["jsonl_track_round_trip_us"] = best_per_call_us(lambda: client.track(NAME, PROPERTIES), ROUND_TRIPS)
        figures["collector_post_us"] = best_per_call_us(post, 200)

    try:
        benchmark.pedantic(measure, rounds=1, iterations=1)
    finally:
        child.close()
        echo.stdin.close()
        echo.wait(10)
        echo.stdout.close()
        collector.close()
    for name in ("pipe_round_trip_us", "jsonl_track_round_trip_us", "collector_post_us"):
        benchmark.extra_info[name] = round(figures[name], 1)
