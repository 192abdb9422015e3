"""What every machine shares: drawn rules, the trace, the flush window and the delivery checks.

Each rule applies one operation to the model (a reference SDK with the adapter's
profile) and to the SDK. Nothing is compared until a flush: then what reached the
collector is matched to the calls that produced it (by a step number the suite puts in
every event name and identify trait set) and every difference becomes a
:class:`~conformance.Violation` under the requirement it breaks. The delivery checks
(exactly once, message ids, lateness) live here because every machine runs them at each
flush; each family's own checks are in ``client_checks.py`` and ``server_checks.py``.

Over 400 lines: the drawn-rule decorator, the trace and the flush-window matching are one
mechanism that both machines inherit, and the hot path of every step.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import attrs
from hypothesis.stateful import RuleBasedStateMachine, rule

from conformance._errors import AdapterFailedError
from conformance._violations import ConformanceFailure, Violation
from conformance.engine.harness import Harness
from conformance.machines import strategies as gen
from simulator import (
    Event,
    Kind,
    ReferenceSDK,
    snapshot_value,
)

Step = dict[str, Any]
PROBE_EVENT = "closing probe"
"""The event teardown tracks on every open client, to observe its final identity."""
EXAMPLE_STRIDE = 100_000
"""Markers are example * stride + step; steps per example stay far below the stride."""


def step_number(event: Event) -> int | None:
    """The suite's step number carried by an event (event name suffix or identify trait)."""
    name = event.name
    if name and event.kind is _TRACK:
        _, marker, tail = name.rpartition(_MARKER)
        if marker:
            return int(tail) if tail.isdecimal() else None
    traits = event.traits
    number = traits.get(_TRAIT_MARKER) if traits else None
    return number if type(number) is int else None


_TRACK, _MARKER, _TRAIT_MARKER = Kind.TRACK, gen.MARKER, gen.TRAIT_MARKER  # read per event


class _Warnings(logging.Handler):
    """The warnings and errors the SDK logs during an outage (the suite's own loggers aside)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if not record.name.startswith("conformance") and len(self.lines) < 10:
            self.lines.append(f"{record.name} {record.levelname}: {record.getMessage()}"[:200])


RuleBody = Callable[..., None]
_PLAIN = frozenset({str, int, float, bool, type(None)})
"""Argument types a trace can keep as they are: nothing can change them later."""


@attrs.frozen
class _PoolText:
    """A trace argument kept as the JSON text it was decoded from."""

    text: str


def drawn_rule(**pools: tuple[str, ...]) -> Callable[[RuleBody], RuleBody]:
    """Make ``body`` a rule whose keyword arguments come from one draw (``gen.Calls``).

    The rule Hypothesis sees takes that draw as ``call``; ``body`` stays reachable as the
    rule's ``body`` attribute, so a trace replays with the keyword arguments it recorded.
    """
    calls = gen.Calls(pools)

    def decorate(body: RuleBody) -> RuleBody:
        name = body.__name__

        def step(self: BaseMachine, call: int) -> None:
            self.h.drawn[self.machine_name, name].add(call)
            arguments, self.sources = calls.decode_with_sources(call)
            try:
                body(self, **arguments)
            finally:
                self.sources = {}  # the ids are only valid while ``arguments`` lives

        step.__name__, step.__qualname__, step.__doc__ = body.__name__, body.__qualname__, body.__doc__
        step.body = body  # type: ignore[attr-defined]  # read by replay()
        step.calls = calls  # type: ignore[attr-defined]  # what the drawn index decodes with
        return rule(call=calls.indexes)(step)

    return decorate


class BaseMachine(RuleBasedStateMachine):
    """What both machines share: the harness, the trace, the flush window and delivery checks."""

    harness: Harness
    machine_name = "base"
    covers: frozenset[str] = frozenset({"delivery"})
    """The requirement scopes this machine's checks decide: an error of it makes them ERROR."""

    def __init__(self) -> None:
        super().__init__()
        self.h = self.harness
        if self.h.dirty:  # the last example ended mid-way: what its SDK calls queued is stale
            self.h.call("flush() (after an example that ended with an error)", self.h.adapter.flush)
            self.h.collector.disarm()
            self.h.collector.drain()
        self.h.current, self.h.dirty = self, True
        self.prefix = self.h.new_example()
        self.example = self.h.examples
        self.model = ReferenceSDK(profile=self.h.profile, seed=self.h.examples)
        self.trace: list[Step] = []
        self.sources: dict[int, str] = {}
        """JSON texts of the current drawn step's fresh arguments, by id (see ``_record``)."""
        self.seq = 0
        self.violations: list[Violation] = []
        self.expected_seqs: list[int] = []
        self.window_calls: dict[int, Step] = {}
        self.fault_armed = False
        self.outage: list[str] | None = None
        """The faults of the collector outage this flush window runs in, if it does."""
        self.outage_met = False
        """Whether a delivery of the SDK met the outage (it was not over before anything was sent)."""
        self.outage_told: str | None = None
        """How the SDK told the caller of a failure during the outage, if it did."""
        self._outage_log = _Warnings()
        self.refusable_in_window = False
        """Whether a call of this flush window may be refused by the collector (caller data)."""
        self.message_ids: dict[str, int] = {}
        self.history_expected: list[Event] = []
        self.history_observed: list[tuple[int, Event]] = []
        self._arrival: dict[int, int] = {}
        self._window_pairs: list[tuple[int, Event, list[Event]]] = []
        self.unsure: dict[int, Event] = {}
        """Observed events (by ``id``, kept alive so no id is reused) whose pairing with their
        call was a guess among equals."""

    # -- bookkeeping ---------------------------------------------------------------------
    def _record(self, rule_name: str, **args: Any) -> int:
        self.seq += 1
        # As called: an SDK that mutates what it is given must not rewrite the trace. A
        # value decoded from a pool in this step is kept as its JSON text; others are copied.
        self.trace.append({"rule": rule_name, "args": {
            name: value if type(value) in _PLAIN else self._as_called(value)
            for name, value in args.items()
        }})  # fmt: skip
        self.h.count_rule(rule_name)
        self.h.state_coverage[self.machine_name][self.state_of(rule_name, args)] += 1
        return self.seq

    def state_of(self, rule_name: str, args: dict[str, Any]) -> str:
        """The identity state a step starts from and what it does there (state coverage)."""
        del args
        return rule_name

    def _note(self, rule_name: str, made_by: str, **args: Any) -> int:
        """A trace entry for a call a step or teardown makes itself (replay re-creates it).

        Every call the suite makes has its own trace entry, so a violation's ``step`` is
        always its index in the trace (plus one).
        """
        self.seq += 1
        self.trace.append({"rule": rule_name, "args": dict(args), "made_by": made_by})
        return self.seq

    def _event_of(self, seq: int, kind: str = "", device: str = "") -> str:
        """How a message names the event of step ``seq``, the closing probe by its name."""
        step = self.trace[seq - 1] if 0 < seq <= len(self.trace) else {}
        if step.get("made_by") == "teardown":
            return f"the closing probe event of {step['args'].get('device', device)} (step {seq}, tracked by teardown)"
        kind = f"{kind} " if kind else ""
        return f"the {kind}event of step {seq}" + (f" on {device}" if device else "")

    def _as_called(self, value: Any) -> Any:
        text = self.sources.get(id(value))
        return snapshot_value(value) if text is None else _PoolText(text)

    def _trace_as_called(self) -> list[Step]:
        """The trace with every argument as a plain value."""
        return [
            {**step, "args": {
                name: json.loads(value.text) if type(value) is _PoolText else value
                for name, value in step["args"].items()
            }}  # fmt: skip
            for step in self.trace
        ]

    def mark(self, seq: int) -> int:
        """The wire marker of step ``seq``: unique across the run's examples.

        A late delivery from an earlier example then cannot pass for a call of this one.
        """
        return self.example * EXAMPLE_STRIDE + seq

    def seq_of(self, marker: int | None) -> int | None:
        """The step number of a marker of this example, else ``None``."""
        if marker is None or marker // EXAMPLE_STRIDE != self.example:
            return None
        return marker % EXAMPLE_STRIDE

    def _model_call(self, seq: int, fn: Callable[..., Any], *args: Any) -> None:
        before = len(self.model.outbox.pending)
        fn(*args)
        self.expected_seqs.extend([seq] * (len(self.model.outbox.pending) - before))

    def _violate(self, requirement: str, message: str, expected: Any = None, observed: Any = None,
                 step: int | None = None) -> None:  # fmt: skip
        violation = Violation(requirement, message, expected, observed, step)
        self.h.found.setdefault(violation.dedup_key, violation)
        if requirement not in self.h.ignore:
            self.violations.append(violation)

    def _check(self, requirement: str) -> None:
        self.h.checks[requirement] += 1

    def _raise_if_violated(self) -> None:
        if self.violations:
            if self.h.first_failure_example is None:
                self.h.first_failure_example = self.h.examples
            self.h.note_failing_example()
            self.h.last_failing_trace = self._trace_as_called()
            self.h.last_failing_machine = self.machine_name
            found, self.violations = self.violations, []
            raise ConformanceFailure(found)

    # -- flushing and matching -----------------------------------------------------------
    def _begin_outage(self, faults: list[str], answer_after: float | None = None) -> None:
        """The collector fails its next deliveries with ``faults``; the SDK's warnings are kept."""
        self.outage, self.outage_told, self.outage_met = list(faults), None, False
        self._outage_log.lines.clear()
        logging.getLogger().addHandler(self._outage_log)
        self.h.collector.outage(faults, answer_after=answer_after)

    def _end_outage(self) -> None:
        self.h.collector.recover()
        logging.getLogger().removeHandler(self._outage_log)
        self.outage = None

    def _flush_and_check(self) -> None:
        fault = self.fault_armed
        if self.outage is not None:
            self._flush_through_outage(self.outage)
        else:
            try:
                self.h.call("flush()", self.h.adapter.flush)
            except AdapterFailedError:
                if not (fault or self.refusable_in_window):
                    raise
                # The SDK reported the refused delivery as failed: allowed by the contract (a batching
                # SDK reports caller data the collector refused at flush, not at the call).
                fault = True
        self.refusable_in_window = False
        on_time = self.h.collector.pending()
        if fault:
            self.h.collector.disarm()
            self.fault_armed = False
        expected = self.model.flush()
        seqs, self.expected_seqs = self.expected_seqs, []
        observed = self.h.collector.drain()
        for event in observed[on_time:]:
            self._violate("delivery.exactly-once",
                          "an event arrived after flush() had returned (flush must return only "
                          "once everything accepted was delivered)",
                          expected="delivered before flush() returns", observed=event,
                          step=self.seq_of(step_number(event)))  # fmt: skip
        self._check_window(list(zip(seqs, expected, strict=True)), observed, fault=fault)
        self.window_calls = {}
        self._raise_if_violated()

    def _flush_through_outage(self, faults: list[str]) -> None:
        """Flush during the outage (it may fail, as the collector does), recover, flush again.

        Notes whether a delivery met the outage and how the SDK told the caller of a failure:
        the first flush's error, else the first warning it logged.
        """
        refusal = self.h.attempt("flush()", self.h.adapter.flush)
        if refusal is not None and not self.outage_told:
            self.outage_told = f"flush() raised {type(refusal).__name__}: {str(refusal)[:200]}"
        self.outage_met = self.h.collector.recover() < len(faults)
        self.h.call("flush() (after the collector recovered)", self.h.adapter.flush)
        if self._outage_log.lines and not self.outage_told:
            self.outage_told = f"it logged {self._outage_log.lines[0]!r}"

    def _match(self, expected: list[tuple[int, Event]], observed: list[Event]
               ) -> tuple[list[tuple[int, Event, list[Event]]], list[Event]]:  # fmt: skip
        """Pair each expected event with the observed copies of it; return the leftovers."""
        by_step: dict[tuple[int, Kind], list[Event]] = {}
        unmarked: dict[Kind, list[Event]] = {}
        for event in observed:
            number = step_number(event)
            if number is None:
                unmarked.setdefault(event.kind, []).append(event)
            else:
                by_step.setdefault((number, event.kind), []).append(event)
        # Marked events pair for certain, and the model ids they show tell whose the
        # unmarked ones are: first what the calls before showed, then the whole window.
        window, before = _Sightings(self), _Sightings(self)
        paired: dict[int, list[Event]] = {}
        for index, (_, event) in enumerate(expected):
            number = step_number(event)
            if number is not None:
                paired[index] = copies = by_step.pop((number, event.kind), [])
                if copies:
                    window.record(event, copies[0])
        for index, (_, event) in enumerate(expected):
            copies = paired.get(index, [])
            if index not in paired:
                pool = unmarked.get(event.kind, [])
                # Unmarked events (an alias) of several clients can arrive in any order:
                # take the most like the call, the earliest of equals.
                scores = [(_given_ids(event, e), before.likeness(event, e), window.likeness(event, e))
                          for e in pool]  # fmt: skip
                best = max(range(len(pool)), key=lambda i: (scores[i], -i), default=None)
                if best is not None:
                    equals = [e for i, e in enumerate(pool) if i != best and scores[i] == scores[best]]
                    if window.ambiguous(event, pool[best], equals):
                        # Another client's event fits as well and differs only in ids no
                        # event has shown: which is whose is unknowable, so neither binds.
                        self.unsure.update((id(e), e) for e in (pool[best], *equals))
                paired[index] = copies = [pool.pop(best)] if best is not None else []
                message_id = copies[0].message_id if copies else None
                if message_id is not None:  # resent copies of the same message: the same call
                    copies += [e for e in pool if e.message_id == message_id]
                    pool[:] = [e for e in pool if e.message_id != message_id]
                if copies and id(copies[0]) not in self.unsure:
                    window.record(event, copies[0])
            if copies and id(copies[0]) not in self.unsure:
                before.record(event, copies[0])
        pairs = [(seq, event, paired[index]) for index, (seq, event) in enumerate(expected)]
        leftovers = [e for copies in by_step.values() for e in copies]
        leftovers += [e for pool in unmarked.values() for e in pool]
        return pairs, leftovers

    def observed_id(self, model_id: str) -> str:
        """The id the SDK uses for a model id (an anonymous id the model made up); itself if none."""
        return model_id

    def model_id_of(self, observed: str) -> str | None:  # noqa: ARG002  (a hook)
        """The model id an observed id was bound to in earlier windows; None if none."""
        return None

    def is_model_id(self, value: str) -> bool:  # noqa: ARG002  (a hook)
        """Whether ``value`` is an id the model made up (the SDK makes up its own)."""
        return False

    def _check_window(self, expected: list[tuple[int, Event]], observed: list[Event], *,
                      fault: bool) -> None:  # fmt: skip
        pairs, leftovers = self._match(expected, observed)
        self._arrival = {id(event): i for i, event in enumerate(observed)}
        self._window_pairs = pairs
        if expected or observed:
            self._check("delivery.exactly-once")
        if self.outage is not None and self.outage_met:  # a delivery of the SDK's met the outage
            self._check("delivery.outage.no-silent-loss")
        for event in leftovers:
            self._unexpected(event)
        for seq, want, copies in pairs:
            if not copies:
                self._missing(seq, want)
                continue
            if len(copies) > 1:
                self._duplicates(seq, copies, fault=fault)
            got = copies[0]
            self._check_message_id(seq, got)
            self.history_expected.append(want)
            self.history_observed.append((seq, got))
            self.compare(seq, want, got)
        if any(copies for _, _, copies in pairs):  # else the history is as the last check saw it
            self.after_window(pairs)

    def _duplicates(self, seq: int, copies: list[Event], *, fault: bool) -> None:
        """More than one copy of a call's event: only a retry after a fault, with one id, is fine."""
        ids = sorted({str(c.message_id) for c in copies})
        if fault:
            self._check("delivery.retry.same-message-id")
            if len(ids) == 1 and copies[0].message_id is not None:
                return  # a resend of one message: counted once downstream
            self._violate("delivery.retry.same-message-id",
                          f"step {seq}'s event was resent {len(copies)} times "
                          + ("without a message id" if ids == ["None"] else f"with {len(ids)} different message ids"),
                          expected="one message id on every copy", observed=ids, step=seq)  # fmt: skip
            return
        if len(ids) == 1 and copies[0].message_id is not None:
            return  # one message sent again (a retry of its own): counted once downstream
        self._violate("delivery.exactly-once",
                      f"step {seq}'s event arrived {len(copies)} times (message ids: {', '.join(ids)})",
                      expected=1, observed=len(copies), step=seq)  # fmt: skip

    def _check_message_id(self, seq: int, event: Event) -> None:
        if self.message_ids or event.message_id is None:  # a second event, or none at all
            self._check("delivery.message-id.unique")
        if event.message_id is None:
            self._violate("delivery.message-id.unique",
                          f"{self._event_of(seq, event.kind.value)} carried no message id, so "
                          "a resent copy cannot be told from a second call",
                          expected="a message id", observed=None, step=seq)  # fmt: skip
            return
        owner = self.message_ids.setdefault(event.message_id, seq)
        if owner != seq:
            self._violate("delivery.message-id.unique",
                          f"steps {owner} and {seq} sent events with the same message id",
                          expected="distinct ids", observed=event.message_id, step=seq)

    def _missing(self, seq: int, want: Event) -> None:
        if self.outage is not None:
            if self.outage_told is None:
                self._violate("delivery.outage.no-silent-loss",
                              f"{self._event_of(seq, want.kind.value)} was lost in a collector outage "
                              f"({', '.join(self.outage)}, then recovery and a second flush), and the SDK "
                              "told the caller nothing (no error from the call or flush(), no warning logged)",
                              expected=want, observed=None, step=seq)  # fmt: skip
            return  # lost, and the caller was told: what the contract allows
        self._violate("delivery.exactly-once",
                      f"{self._event_of(seq, want.kind.value)} never arrived after flush",
                      expected=want, observed=None, step=seq)

    def _position(self, event: Event) -> float:
        """Where an event no call produced goes in the history (by step, between steps).

        At its own step if it names one; else just after the last matched event that
        arrived before it, or just before the window's first call if none did.
        """
        number = self.seq_of(step_number(event))
        if number is not None:
            return number + 0.5
        arrived = self._arrival.get(id(event), -1)
        before = [seq for seq, _, copies in self._window_pairs
                  if copies and self._arrival.get(id(copies[0]), arrived) < arrived]  # fmt: skip
        if before:
            return max(before) + 0.5
        return min((seq for seq, _, _ in self._window_pairs), default=self.seq + 1) - 0.5

    def _unexpected(self, event: Event) -> None:
        marker = step_number(event)
        if marker is not None and self.seq_of(marker) is None:
            self._violate("delivery.exactly-once",
                          "an event of an earlier example arrived late, after its flush had returned",
                          expected=None, observed=event)
            return
        self._violate("delivery.exactly-once",
                      "an event arrived that no call produced",
                      expected=None, observed=event, step=self.seq_of(marker))

    # -- hooks for the concrete machines ---------------------------------------------------
    def compare(self, seq: int, want: Event, got: Event) -> None:
        """Compare one expected event with the observed one."""
        raise NotImplementedError

    def after_window(self, pairs: list[tuple[int, Event, list[Event]]]) -> None:
        """Checks over the whole history, after each flush."""
        del pairs

    # -- shared rules --------------------------------------------------------------------------
    @rule()
    def flush(self) -> None:
        """Flush the SDK and compare everything that arrived with the model."""
        self._record("flush")
        self._flush_and_check()

    def teardown(self) -> None:
        """Flush what is left and check it; then release the example's clients."""
        self._flush_and_check()
        self.h.dirty = False


_ID_FIELDS = ("user_id", "previous_id", "anonymous_id", "device_id", "distinct_id", "group_id")


def _given_ids(want: Event, got: Event) -> int:
    """How many of the call's ids an arrived event repeats as given."""
    return sum(1 for name in _ID_FIELDS
               if (given := getattr(want, name)) is not None and getattr(got, name) == given)  # fmt: skip


class _Sightings:
    """Which wire id each model-made id (anonymous, device) showed, while matching one window.

    An unmarked event repeats of its call only the ids the caller gave; the model's made-up
    ids bind to the SDK's when the checks run, after matching. So the pairs already matched
    stand in for those bindings: an event whose ids another client's events showed is that
    client's. Only model ids are recorded, and never an empty one: an SDK's wrong user id,
    or an id it emptied, tells nothing of whose an event is.
    """

    def __init__(self, machine: BaseMachine) -> None:
        self._machine = machine
        self._to_wire: dict[str, str] = {}
        self._to_model: dict[str, str] = {}

    def _wire(self, model_id: str) -> str | None:
        bound = self._machine.observed_id(model_id)
        return bound if bound != model_id else self._to_wire.get(model_id)

    def _model(self, wire_id: str) -> str | None:
        return self._machine.model_id_of(wire_id) or self._to_model.get(wire_id)

    def likeness(self, want: Event, got: Event) -> int:
        """+1 per model id the event shows as seen, -1 per id contradicting a sighting."""
        score = 0
        for name in _ID_FIELDS:
            given, arrived = getattr(want, name), getattr(got, name)
            if not given or not arrived or arrived == given:  # '' names no one either
                continue
            wire, owner = self._wire(given), self._model(arrived)
            if arrived == wire:
                score += 1
            elif wire is not None or (owner is not None and owner != given):
                score -= 1
        return score

    def ambiguous(self, want: Event, chosen: Event, equals: list[Event]) -> bool:
        """Whether an equally like event differs from the chosen one only in model ids not yet seen."""
        for other in equals:
            differing = [name for name in _ID_FIELDS if getattr(other, name) != getattr(chosen, name)]
            if differing and all(
                (given := getattr(want, name)) is not None
                and self._machine.is_model_id(given) and self._wire(given) is None
                for name in differing
            ):
                return True
        return False

    def record(self, want: Event, got: Event) -> None:
        """Note the model ids a matched event showed on the wire."""
        for name in _ID_FIELDS:
            given, arrived = getattr(want, name), getattr(got, name)
            if (given and arrived and self._machine.is_model_id(given)
                    and self._wire(given) is None and self._model(arrived) is None):
                self._to_wire[given], self._to_model[arrived] = arrived, given
