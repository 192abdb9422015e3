"""Hypothesis state machines that pit an adapter-wrapped SDK against the reference model.

Each rule applies one operation to the model (a reference SDK with the adapter's
profile) and to the SDK. Nothing is compared until a flush: then what reached the
collector is matched to the calls that produced it (by a step number the suite puts in
every event name and identify trait set) and every difference becomes a
:class:`~conformance.Violation` under the requirement it breaks.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, cast

import attrs
import hypothesis
from hypothesis.stateful import RuleBasedStateMachine, rule, run_state_machine_as_test

from conformance._errors import AdapterFailedError, StepTimeoutError
from conformance.adapters.protocol import ClientSession
from conformance.engine.harness import Harness
from conformance.machines import strategies as gen
from conformance.machines.violations import ConformanceFailure, Violation
from simulator import (
    Event,
    IdentifyEmits,
    IdentifyOther,
    IdModel,
    Kind,
    Link,
    Person,
    ReferenceClient,
    ReferenceSDK,
    resolve,
    snapshot,
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
        def step(self: _Base, call: int) -> None:
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


class _Base(RuleBasedStateMachine):
    """What both machines share: the harness, the trace, the flush window and delivery checks."""

    harness: Harness
    machine_name = "base"

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
        self.message_ids: dict[str, int] = {}
        self.history_expected: list[Event] = []
        self.history_observed: list[tuple[int, Event]] = []
        self._arrival: dict[int, int] = {}

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
        return self.seq

    def _as_called(self, value: Any) -> Any:
        text = self.sources.get(id(value))
        return snapshot_value(value) if text is None else _PoolText(text)

    def _trace_as_called(self) -> list[Step]:
        """The trace with every argument as a plain value."""
        return [
            {"rule": step["rule"], "args": {
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
    def _flush_and_check(self) -> None:
        fault = self.fault_armed
        try:
            self.h.call("flush()", self.h.adapter.flush)
        except AdapterFailedError:
            if not fault:
                raise
            # The SDK reported the refused delivery as failed: allowed by the contract.
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
        pairs = []
        for seq, event in expected:
            number = step_number(event)
            if number is not None:
                copies = by_step.pop((number, event.kind), [])
            else:
                pool = unmarked.get(event.kind, [])
                copies = [pool.pop(0)] if pool else []
                message_id = copies[0].message_id if copies else None
                if message_id is not None:  # resent copies of the same message: the same call
                    copies += [e for e in pool if e.message_id == message_id]
                    pool[:] = [e for e in pool if e.message_id != message_id]
            pairs.append((seq, event, copies))
        leftovers = [e for copies in by_step.values() for e in copies]
        leftovers += [e for pool in unmarked.values() for e in pool]
        return pairs, leftovers

    def _check_window(self, expected: list[tuple[int, Event]], observed: list[Event], *,
                      fault: bool) -> None:  # fmt: skip
        pairs, leftovers = self._match(expected, observed)
        self._arrival = {id(event): i for i, event in enumerate(observed)}
        if expected or observed:
            self._check("delivery.exactly-once")
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
                          f"the {event.kind.value} event of step {seq} carried no message id, so "
                          "a resent copy cannot be told from a second call",
                          expected="a message id", observed=None, step=seq)  # fmt: skip
            return
        owner = self.message_ids.setdefault(event.message_id, seq)
        if owner != seq:
            self._violate("delivery.message-id.unique",
                          f"steps {owner} and {seq} sent events with the same message id",
                          expected="distinct ids", observed=event.message_id, step=seq)

    def _missing(self, seq: int, want: Event) -> None:
        self._violate("delivery.exactly-once",
                      f"the {want.kind.value} event of step {seq} never arrived after flush",
                      expected=want, observed=None, step=seq)

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


# ---------------------------------------------------------------------------------------------
class ClientMachine(_Base):
    """Several devices, several users: identify, reset, reopen, track, flush."""

    machine_name = "client"

    def __init__(self) -> None:
        super().__init__()
        self.clients: dict[str, tuple[ReferenceClient, ClientSession]] = {}
        # per device: ordered (seq, user or None, cause) of identity changes
        self.timeline: dict[str, list[tuple[int, str | None, str]]] = {}
        self.trait_log: dict[str, list[tuple[int, str, Any]]] = {}
        self.sym_to_obs: dict[str, str] = {}
        self.obs_to_sym: dict[str, str] = {}
        self.sym_device: dict[str, str] = {}
        self.sym_cause: dict[str, str] = {}
        self.reopened: set[str] = set()
        self.seen_since_reopen: set[str] = set()
        self.shared: dict[str, Any] = {"plan": "free", "items": [1]}
        self.users_by_device: dict[str, set[str]] = {}
        self.extra_events: list[tuple[float, Event]] = []
        """Identity events no call produced, by position: they still link ids downstream."""

    def _client(self, device: str) -> tuple[ReferenceClient, ClientSession]:
        if device not in self.clients:
            key = self.prefix + device
            model = self.model.open_client(key)
            sdk = self.h.call(f"open_client({key!r})", self.h.adapter.open_client, key)
            self.clients[device] = (model, sdk)
            self.timeline.setdefault(device, [(self.seq, None, "open")])
            self._bind_model_anonymous(device, model, "open")
        return self.clients[device]

    def _bind_model_anonymous(self, device: str, model: ReferenceClient, cause: str) -> None:
        sym = model.anonymous_id
        if sym not in self.sym_device:
            self.sym_device[sym] = device
            self.sym_cause[sym] = cause

    def _identity_changed(self, device: str, seq: int, user: str | None, cause: str) -> None:
        self.timeline.setdefault(device, []).append((seq, user, cause))
        if user is not None:
            self.users_by_device.setdefault(device, set()).add(user)

    # -- rules ---------------------------------------------------------------------------------
    @drawn_rule(device=gen.DEVICE_POOL, name=gen.NAME_POOL, properties=gen.PROPERTY_POOL)
    def track(self, device: str, name: str, properties: dict[str, Any]) -> None:
        """Track an event with a fresh properties dict."""
        seq = self._record("track", device=device, name=name, properties=properties)
        model, sdk = self._client(device)
        marked = f"{name}{gen.MARKER}{self.mark(seq)}"
        self._model_call(seq, model.track, marked, properties)
        self.h.call("track()", sdk.track, marked, properties)

    @drawn_rule(device=gen.DEVICE_POOL, name=gen.NAME_POOL, key=gen.KEY_POOL, value=gen.VALUE_POOL)
    def track_reused_object(self, device: str, name: str, key: str, value: Any) -> None:
        """Track with the one properties dict the caller keeps reusing, changing it after."""
        seq = self._record("track_reused_object", device=device, name=name, key=key, value=value)
        model, sdk = self._client(device)
        marked = f"{name}{gen.MARKER}{self.mark(seq)}"
        self._model_call(seq, model.track, marked, self.shared)
        self.h.call("track()", sdk.track, marked, self.shared)
        self.shared[key] = value
        nested = self.shared.get("items")
        if isinstance(nested, list):
            nested.append(seq)

    @drawn_rule(device=gen.DEVICE_POOL, user_id=gen.USER_POOL, traits=gen.TRAIT_POOL)
    def identify(self, device: str, user_id: str, traits: dict[str, Any]) -> None:
        """Identify the device's current user."""
        seq = self._record("identify", device=device, user_id=user_id, traits=traits)
        model, sdk = self._client(device)
        previous = model.user_id
        marked = {**traits, gen.TRAIT_MARKER: self.mark(seq)}
        self._check("client.identify.emits-per-profile")
        self._model_call(seq, model.identify, user_id, marked)
        self.h.call("identify()", sdk.identify, user_id, marked)
        if previous != user_id:
            cause = "identify-other" if previous is not None else "identify"
            self._identity_changed(device, seq, user_id, cause)
            if (previous is not None
                    and self.h.profile.identify_other is IdentifyOther.ROTATE_ANONYMOUS):
                self._bind_model_anonymous(device, model, "identify-other")
        for key, value in marked.items():
            if key != gen.TRAIT_MARKER:
                self.trait_log.setdefault(device, []).append((seq, key, value))

    @drawn_rule(device=gen.DEVICE_POOL, user_id=gen.NO_USER_POOL, traits=gen.TRAIT_POOL)
    def identify_without_user(self, device: str, user_id: str | None, traits: dict[str, Any]) -> None:
        """identify(None) or identify('') must be refused, and nothing sent."""
        seq = self._record("identify_without_user", device=device, user_id=user_id, traits=traits)
        _, sdk = self._client(device)
        marked = {**traits, gen.TRAIT_MARKER: self.mark(seq)}
        self._check("client.identify.requires-user-id")
        # Whether or not it raises, nothing may be sent: an event of this step is a violation.
        self.window_calls[seq] = {"refused": True}
        refusal = self.h.attempt(f"identify({user_id!r})", sdk.identify, user_id, marked)
        if refusal is None:
            self._violate("client.identify.requires-user-id",
                          f"identify({user_id!r}) was accepted without raising",
                          expected="an exception", observed="returned normally", step=seq)

    def _reset(self, device: str) -> None:
        seq = self._record("reset", device=device)
        model, sdk = self._client(device)
        self._model_call(seq, model.reset)
        self.h.call("reset()", sdk.reset)
        self._identity_changed(device, seq, None, "reset")
        self._bind_model_anonymous(device, model, "reset")

    def _reopen(self, device: str) -> None:
        seq = self._record("reopen", device=device)
        if device in self.clients:
            model, sdk = self.clients.pop(device)
            model.close()
            self.h.call("close()", sdk.close)
        self._client(device)
        self.reopened.add(device)
        self.seen_since_reopen -= {sym for sym, d in self.sym_device.items() if d == device}
        del seq

    def _alias(self, device: str, new_id: str) -> None:
        seq = self._record("alias", device=device, new_id=new_id)
        model, sdk = self._client(device)
        self._model_call(seq, model.alias, new_id)
        self.h.call("alias()", sdk.alias, new_id)

    def _lose_ack(self) -> None:
        self._record("lose_next_delivery_ack")
        self.h.collector.fail_next(1)
        self.fault_armed = True

    def teardown(self) -> None:
        """Track one probe event on every open client, flush, check, and close the clients.

        The probe observes each client's final identity, so a wrong identity after the
        last identify, reset or reopen is seen even when no later track call was
        generated. It is part of teardown, not of the trace: replaying the trace runs it.
        """
        try:
            for device in list(self.clients):
                self._probe(device)
            super().teardown()
        finally:
            clients, self.clients = list(self.clients.items()), {}
            for device, (model, sdk) in clients:
                model.close()
                self.h.call(f"close() of {device}", sdk.close)

    def _probe(self, device: str) -> None:
        self.seq += 1
        seq = self.seq
        model, sdk = self.clients[device]
        marked = f"{PROBE_EVENT}{gen.MARKER}{self.mark(seq)}"
        self._model_call(seq, model.track, marked, {})
        self.h.call("track() (closing probe)", sdk.track, marked, {})

    # -- comparison ----------------------------------------------------------------------------
    def _user_at(self, device: str, seq: int) -> list[tuple[int, str | None, str]]:
        return [entry for entry in self.timeline.get(device, []) if entry[0] <= seq]

    def _anonymous_value(self, event: Event) -> str | None:
        model = self.h.profile.id_model
        if model is IdModel.DUAL:
            return event.anonymous_id
        if model is IdModel.DEVICE_USER:
            return event.device_id
        return event.distinct_id if event.distinct_id != event.user_id else None

    def compare(self, seq: int, want: Event, got: Event) -> None:
        """Classify every difference between the model's event and the SDK's."""
        device = (want.source or "")[len(self.prefix):]
        self._count_context_checks(seq, device)
        self._compare_user(seq, device, want, got)
        self._compare_anonymous(seq, device, want, got)
        if self.h.profile.id_model is IdModel.SWITCHING:
            self._compare_symbol(seq, device, want.device_id, got.device_id, "device id")
        self._compare_payload(seq, device, want, got)

    def _count_context_checks(self, seq: int, device: str) -> None:
        """Count the situational requirements this comparison exercises."""
        past = self._user_at(device, seq)
        causes = [c for _, _, c in past]
        if device in self.reopened:
            self._check("client.anonymous-id.persists")
        if "reset" in causes:
            self._check("client.anonymous-id.rotates-on-reset")
            if any(u is not None for _, u, _ in past):
                self._check("client.reset.forgets-user")
        if "identify-other" in causes:
            self._check("client.identify.no-merge-of-identified-users")
        if len(self.timeline) > 1:
            self._check("client.isolation.between-clients")

    def _compare_user(self, seq: int, device: str, want: Event, got: Event) -> None:
        timeline = self.timeline.get(device, ())
        if any(u is not None for s, u, _ in timeline if s <= seq):
            self._check("client.identify.later-events-carry-user")
        if any(s > seq for s, _, _ in timeline):  # the identity changed before this flush
            self._check("client.binding.at-call")
        if want.user_id == got.user_id:
            return
        observed = got.user_id
        past = self._user_at(device, seq)
        later = [u for s, u, _ in self.timeline.get(device, []) if s > seq]
        before_reset = {u for i, (s, u, c) in enumerate(past) if u is not None
                        and any(c2 == "reset" for _, _, c2 in past[i + 1:])}
        others = set().union(*(users for d, users in self.users_by_device.items() if d != device))
        requirement = "client.identify.later-events-carry-user"
        if observed is not None and observed in later and observed not in {u for _, u, _ in past}:
            requirement = "client.binding.at-call"
        elif observed is not None and observed in before_reset:
            requirement = "client.reset.forgets-user"
        elif (observed is not None and observed in others
              and observed not in self.users_by_device.get(device, set())):
            requirement = "client.isolation.between-clients"
        self._violate(requirement,
                      f"the {want.kind.value} event of step {seq} on {device} carried the wrong user id",
                      expected=want.user_id, observed=observed, step=seq)

    def _compare_anonymous(self, seq: int, device: str, want: Event, got: Event) -> None:
        sym, obs = self._anonymous_value(want), self._anonymous_value(got)
        if sym is None:
            return
        self._check("client.anonymous-id.automatic")
        if not obs:
            self._violate("client.anonymous-id.automatic",
                          f"the {want.kind.value} event of step {seq} on {device} carried no anonymous id",
                          expected="an SDK-assigned id", observed=obs, step=seq)
            return
        self._compare_symbol(seq, device, sym, obs, "anonymous id")

    def _compare_symbol(self, seq: int, device: str, sym: str | None, obs: str | None,
                        what: str) -> None:  # fmt: skip
        if sym is None or obs is None:
            return
        bound = self.sym_to_obs.get(sym)
        if bound is not None:
            self._check("client.anonymous-id.stable")
        if len(self.sym_to_obs) > 1:
            self._check("client.anonymous-id.per-client")
        owner = self.obs_to_sym.get(obs)
        first_since_reopen = sym not in self.seen_since_reopen
        self.seen_since_reopen.add(sym)
        if bound is None and owner is None:
            self.sym_to_obs[sym], self.obs_to_sym[obs] = obs, sym
            return
        if bound is not None and bound != obs:
            # Only the first sighting after a reopen tests persistence; any later change
            # of id, reopened device or not, is instability.
            requirement = ("client.anonymous-id.persists" if first_since_reopen
                           and device in self.reopened else "client.anonymous-id.stable")
            self._violate(requirement, f"the {what} of {device} changed at step {seq} although "
                          "nothing that changes it happened", expected=bound, observed=obs, step=seq)
            return
        if owner is not None and owner != sym:
            other_device = self.sym_device.get(owner)
            if other_device is not None and other_device != device:
                requirement = "client.anonymous-id.per-client"
                message = f"{device} used the {what} of {other_device} at step {seq}"
            elif self.sym_cause.get(sym) == "reset":
                requirement = "client.anonymous-id.rotates-on-reset"
                message = f"{device} kept its {what} after reset (step {seq})"
            else:
                requirement = "client.identify.no-merge-of-identified-users"
                message = f"{device} kept its {what} after identifying another user (step {seq})"
            self._violate(requirement, message, expected="a new id", observed=obs, step=seq)

    def _compare_payload(self, seq: int, device: str, want: Event, got: Event) -> None:
        self._check("client.payload.as-called")
        if want.name != got.name or dict(want.properties) != dict(got.properties):
            self._violate("client.payload.as-called",
                          f"the event of step {seq} on {device} arrived with other name or properties",
                          expected={"name": want.name, "properties": dict(want.properties)},
                          observed={"name": got.name, "properties": dict(got.properties)}, step=seq)
        if want.kind is Kind.ALIAS:
            self._check("client.alias.names-both-ids")
            previous_ok = (got.previous_id == want.previous_id
                           or self.sym_to_obs.get(want.previous_id or "") == got.previous_id)
            if not previous_ok:
                self._violate("client.alias.names-both-ids",
                              f"the alias of step {seq} named the wrong previous id",
                              expected=want.previous_id, observed=got.previous_id, step=seq)
        if want.kind is not Kind.IDENTIFY:
            return
        if got.previous_id != want.previous_id:
            self._check_merge(got, seq)
        if any(c == "reset" and s < seq for s, _, c in self.timeline.get(device, ())):
            self._check("client.reset.forgets-traits")
        wanted = {k: v for k, v in want.traits.items() if k != gen.TRAIT_MARKER}
        seen = {k: v for k, v in got.traits.items() if k != gen.TRAIT_MARKER}
        if wanted == seen:
            return
        extra = {k: v for k, v in seen.items() if wanted.get(k, object()) != v}
        mine = self.trait_log.get(device, [])
        requirement = "client.payload.as-called"
        if extra:
            stale = [(s, k) for s, k, v in mine if s < seq and extra.get(k, object()) == v]
            resets = [s for s, u, c in self.timeline.get(device, []) if c == "reset" and s < seq]
            switches = [s for s, u, c in self.timeline.get(device, [])
                        if c == "identify-other" and s <= seq]
            if any(s < r for s, _ in stale for r in resets):
                requirement = "client.reset.forgets-traits"
            elif any(s < w for s, _ in stale for w in switches):
                requirement = "client.identify.no-merge-of-identified-users"
            elif not stale and any(
                extra.get(k, object()) == v
                for d, log in self.trait_log.items() if d != device for _, k, v in log
            ):
                requirement = "client.isolation.between-clients"
        self._violate(requirement, f"the identify of step {seq} on {device} carried other traits",
                      expected=wanted, observed=seen, step=seq)

    def _missing(self, seq: int, want: Event) -> None:
        if want.kind is Kind.IDENTIFY:
            # Lost or never sent, the wire cannot tell: both rules hear of it.
            self._violate("client.identify.emits-per-profile",
                          f"the identify of step {seq} sent no event, but profile "
                          f"{self.h.profile.name!r} says it does",
                          expected=want, observed=None, step=seq)
        super()._missing(seq, want)

    def _unexpected(self, event: Event) -> None:
        number = self.seq_of(step_number(event))
        if number is not None and self.window_calls.get(number, {}).get("refused"):
            self._violate("client.identify.requires-user-id",
                          f"identify without a user id (step {number}) still sent an event",
                          expected=None, observed=event, step=number)
            return
        if event.kind in (Kind.IDENTIFY, Kind.MERGE, Kind.ALIAS):
            self._violate("client.identify.emits-per-profile",
                          f"an identify event arrived that profile {self.h.profile.name!r} "
                          "does not send", expected=None, observed=event, step=number)
            # It still links ids downstream: resolution and merges must account for it.
            self.extra_events.append((self.seq + 0.5, event))
            self._check_merge(event, number)
            return
        super()._unexpected(event)

    def _check_merge(self, event: Event, step: int | None) -> None:
        """An identity event must never name another identified user as the previous id."""
        previous = event.previous_id
        if previous is None or previous == event.user_id:
            return
        identified = set().union(*self.users_by_device.values())
        if previous in identified:
            self._violate("client.identify.no-merge-of-identified-users",
                          f"a {event.kind.value} event merges identified user {previous!r} "
                          f"into {event.user_id!r}", expected="no merge of two identified users",
                          observed=event, step=step)  # fmt: skip

    def after_window(self, pairs: list[tuple[int, Event, list[Event]]]) -> None:
        """Per-client order, then downstream resolution of the whole history."""
        if self.h.profile.ordered_delivery:
            self._check("delivery.order.per-client")
            last: dict[str | None, int] = {}
            for seq, want, _copies in sorted(
                (p for p in pairs if p[2]), key=lambda p: self._arrival[id(p[2][0])]
            ):
                if seq < last.get(want.source, 0):
                    self._violate("delivery.order.per-client",
                                  f"the event of step {seq} arrived after the event of step "
                                  f"{last[want.source]} of the same client",
                                  expected=f"step {seq} first", observed=f"step {last[want.source]} first",
                                  step=seq)
                last[want.source] = max(seq, last.get(want.source, 0))
        self._check_resolution()

    def _check_resolution(self) -> None:
        link = self.h.profile.link
        expected_people = resolve(self.history_expected, link)
        if any(e.user_id is None and p.user_id is not None
               for e, p in zip(self.history_expected, expected_people, strict=True)):  # fmt: skip
            self._check("client.identify.links-earlier-anonymous-events")
        ordered = sorted(range(len(self.history_observed)), key=lambda i: self.history_observed[i][0])
        if self.extra_events:  # identity events no call produced, where they arrived
            merged = sorted([(self.history_observed[i][0], i) for i in ordered]
                            + [(at, -1 - k) for k, (at, _) in enumerate(self.extra_events)])  # fmt: skip
            observed_events = [self.history_observed[i][1] if i >= 0 else self.extra_events[-1 - i][1]
                               for _, i in merged]  # fmt: skip
            people = resolve(observed_events, link)
            by_position = {i: people[k] for k, (_, i) in enumerate(merged) if i >= 0}
        else:
            observed_people = resolve([self.history_observed[i][1] for i in ordered], link)
            by_position = {i: observed_people[k] for k, i in enumerate(ordered)}
        for i, want_person in enumerate(expected_people):
            seq, _ = self.history_observed[i]
            got_person = by_position[i]
            if got_person.user_id == want_person.user_id:
                continue
            device = (self.history_expected[i].source or "")[len(self.prefix):]
            past = self._user_at(device, seq)
            resets = [s for s, _, c in past if c == "reset"]
            earlier_users = {u for s, u, _ in past if u is not None and resets and s < max(resets)}
            requirement = "client.identify.links-earlier-anonymous-events"
            if got_person.user_id is not None and got_person.user_id in earlier_users:
                requirement = "client.reset.forgets-user"
            elif (got_person.user_id is not None
                  and got_person.user_id not in self.users_by_device.get(device, set())):
                requirement = "client.isolation.between-clients"
            elif got_person.user_id is not None and want_person.user_id is not None:
                requirement = "client.identify.no-merge-of-identified-users"
            self._violate(requirement,
                          f"downstream, the event of step {seq} on {device} resolves to "
                          f"{got_person} instead of {want_person}",
                          expected=str(want_person), observed=str(got_person), step=seq)


# ---------------------------------------------------------------------------------------------
class ServerMachine(_Base):
    """Stateless server calls: user id only, anonymous id only, both, and neither."""

    machine_name = "server"

    def __init__(self) -> None:
        super().__init__()
        self.shared: dict[str, Any] = {"plan": "free", "items": [1]}
        self.calls: dict[int, dict[str, Any]] = {}
        self.threaded: set[int] = set()
        self.dual_observed: list[Event] = []
        """``history_observed``'s events with their anonymous key in ``anonymous_id``."""
        self.first_call = self.first_identify = EXAMPLE_STRIDE
        """Steps of the example's first call and first identify (situations of two rules)."""

    def _ids(self, user_id: str | None, anonymous_id: str | None) -> dict[str, str | None]:
        return {"user_id": user_id, "anonymous_id": anonymous_id}

    @drawn_rule(user_id=gen.USER_OR_NONE_POOL, anonymous_id=gen.ANONYMOUS_ID_OR_NONE_POOL,
                name=gen.NAME_POOL, properties=gen.PROPERTY_POOL)  # fmt: skip
    def track(self, name: str, properties: dict[str, Any], user_id: str | None,
              anonymous_id: str | None) -> None:  # fmt: skip
        """Server track with this call's ids (at least one; a rule of its own covers neither)."""
        if user_id is None and anonymous_id is None:
            anonymous_id = gen.ANONYMOUS_IDS[0]
        seq = self._record("track", name=name, properties=properties, user_id=user_id,
                           anonymous_id=anonymous_id)  # fmt: skip
        self._server_track(seq, name, properties, user_id, anonymous_id)

    def _server_track(self, seq: int, name: str, properties: dict[str, Any],
                      user_id: str | None, anonymous_id: str | None) -> None:  # fmt: skip
        marked = f"{name}{gen.MARKER}{self.mark(seq)}"
        before = dict(snapshot(properties))  # read-only from here on: shared by both uses
        self.first_call = min(self.first_call, seq)
        self.calls[seq] = {"kind": "track", "properties": before, **self._ids(user_id, anonymous_id)}
        self._model_call(seq, lambda: self.model.server.track(
            marked, properties, user_id=user_id, anonymous_id=anonymous_id))
        self.h.call("track()", self.h.adapter.track, marked, properties, user_id=user_id,
                    anonymous_id=anonymous_id)  # fmt: skip
        self._check("server.arguments.not-retained")
        if properties != before:
            self._violate("server.arguments.not-retained",
                          f"track (step {seq}) changed the properties dict the caller passed",
                          expected=before, observed=dict(snapshot(properties)), step=seq)

    @drawn_rule(user_id=gen.USER_OR_NONE_POOL, anonymous_id=gen.ANONYMOUS_ID_POOL,
                name=gen.NAME_POOL, key=gen.KEY_POOL, value=gen.VALUE_POOL)  # fmt: skip
    def track_reused_object(self, name: str, key: str, value: Any, user_id: str | None,
                            anonymous_id: str) -> None:  # fmt: skip
        """Track with one properties dict the caller keeps reusing and changing."""
        seq = self._record("track_reused_object", name=name, key=key, value=value,
                           user_id=user_id, anonymous_id=anonymous_id)  # fmt: skip
        self._server_track(seq, name, self.shared, user_id, anonymous_id)
        self.shared[key] = value
        nested = self.shared.get("items")
        if isinstance(nested, list):
            nested.append(seq)

    def _identify(self, user_id: str | None, anonymous_id: str | None,
                 traits: dict[str, Any]) -> None:  # fmt: skip
        """Server identify; it must change nothing for later calls."""
        if user_id is None and anonymous_id is None:
            user_id = gen.USERS[0]
        seq = self._record("identify", user_id=user_id, anonymous_id=anonymous_id, traits=traits)
        marked = {**traits, gen.TRAIT_MARKER: self.mark(seq)}
        self.first_call, self.first_identify = min(self.first_call, seq), min(self.first_identify, seq)
        self.calls[seq] = {"kind": "identify", "traits": dict(traits),
                           **self._ids(user_id, anonymous_id)}  # fmt: skip
        self._model_call(seq, lambda: self.model.server.identify(
            user_id, marked, anonymous_id=anonymous_id))
        self.h.call("identify()", self.h.adapter.identify, user_id=user_id,
                    anonymous_id=anonymous_id, traits=marked)  # fmt: skip

    @drawn_rule(name=gen.NAME_POOL)
    def track_without_ids(self, name: str) -> None:
        """A call with neither id must be refused with an error, and nothing sent."""
        seq = self._record("track_without_ids", name=name)
        self._check("server.ids.at-least-one")
        self.window_calls[seq] = {"refused": True}
        refusal = self.h.attempt("track() without ids", self.h.adapter.track,
                                 f"{name}{gen.MARKER}{self.mark(seq)}", {}, user_id=None,
                                 anonymous_id=None)  # fmt: skip
        if refusal is not None:
            return
        self._violate("server.ids.at-least-one",
                      f"track with neither user id nor anonymous id (step {seq}) was accepted",
                      expected="an exception", observed="returned normally", step=seq)

    def _threads(self, count: int) -> None:
        self._record("concurrent_calls", count=count)
        calls = []
        for i in range(count):
            self.seq += 1
            self.threaded.add(self.seq)
            calls.append((self.seq, f"u-thread-{i}", f"anon-thread-{i}"))
        self.first_call = min(self.first_call, calls[0][0]) if calls else self.first_call
        for sub, user, anon in calls:
            self.calls[sub] = {"kind": "track", "properties": {"thread": sub},
                               **self._ids(user, anon)}  # fmt: skip
            self._model_call(sub, lambda sub=sub, user=user, anon=anon: self.model.server.track(
                f"threaded{gen.MARKER}{self.mark(sub)}", {"thread": sub}, user_id=user, anonymous_id=anon))
        def job(sub: int, user: str, anon: str) -> Callable[[], None]:
            def call() -> None:
                self.h.adapter.track(f"threaded{gen.MARKER}{self.mark(sub)}", {"thread": sub},
                                     user_id=user, anonymous_id=anon)  # fmt: skip

            return call

        # The workers start the calls together, at one barrier.
        errors = self.h.workers.run([job(*c) for c in calls], self.h.step_timeout)
        self._check("server.threads.isolated")
        if errors is None:
            msg = (f"concurrent track calls (step {self.seq}) did not return within "
                   f"{self.h.step_timeout:g} s (per-step timeout)")  # fmt: skip
            self.h.last_adapter_error = self.h.last_adapter_error or msg
            raise StepTimeoutError(msg)
        if errors:
            msg = f"concurrent track calls failed: {errors[0]!r}"
            raise AdapterFailedError(msg)

    def _lose_ack(self) -> None:
        self._record("lose_next_delivery_ack")
        self.h.collector.fail_next(1)
        self.fault_armed = True

    def compare(self, seq: int, want: Event, got: Event) -> None:
        """Ids exactly as given; payload exactly as at the call."""
        self._check("server.ids.exactly-as-given")
        # Situational rules count only when their situation happened before this call.
        if self.first_call < seq:
            self._check("server.state.no-carry-over")
        if self.first_identify < seq:
            self._check("server.state.identify-changes-nothing")
        threaded = seq in self.threaded
        if self._ids_differ(want, got):
            requirement = self._classify_ids(seq, got)
            foreign = set(_wire_ids(got).values()) - {want.user_id, want.anonymous_id}
            if threaded and foreign:
                requirement = "server.threads.isolated"
            self._violate(requirement, f"the {want.kind.value} event of step {seq} carried other ids",
                          expected={"user_id": want.user_id, "anonymous_id": want.anonymous_id},
                          observed=_wire_ids(got), step=seq)
        payload_want = (dict(want.properties), {k: v for k, v in want.traits.items()
                                                if k != gen.TRAIT_MARKER})
        payload_got = (dict(got.properties), {k: v for k, v in got.traits.items()
                                              if k != gen.TRAIT_MARKER})
        if payload_want != payload_got:
            requirement = "server.arguments.not-retained"
            earlier = [c for s, c in self.calls.items() if s < seq]
            got_keys = set(payload_got[0]) | set(payload_got[1])
            want_keys = set(payload_want[0]) | set(payload_want[1])
            others = {s for s in self.threaded if s != seq}
            if threaded and payload_got[0].get("thread") in others:
                requirement = "server.threads.isolated"
            elif any(set(c.get("traits", {})) & (got_keys - want_keys) for c in earlier) or (any(set(c.get("properties", {})) & (got_keys - want_keys) for c in earlier
                     if c.get("properties") is not None) and not self._was_shared(seq)):
                requirement = "server.state.no-carry-over"
            self._violate(requirement, f"the event of step {seq} carried another payload",
                          expected=payload_want, observed=payload_got, step=seq)

    def _was_shared(self, seq: int) -> bool:
        return any(step["rule"] == "track_reused_object" for step in self.trace[seq - 1:seq])

    def _same_person(self, want: Person, got: Person) -> bool:
        """One-id wire models cannot tell a user id from an anonymous one: compare the id."""
        if self.h.profile.id_model is IdModel.DUAL:
            return want.user_id == got.user_id
        return (want.user_id or want.anonymous_key) == (got.user_id or got.anonymous_key)

    def _ids_differ(self, want: Event, got: Event) -> bool:
        """Dual-id SDKs must put each id in its own field; one-id models must carry the same set."""
        if self.h.profile.id_model is IdModel.DUAL:
            return (want.user_id, want.anonymous_id) != (got.user_id, got.anonymous_id)
        return {want.user_id, want.anonymous_id} - {None} != set(_wire_ids(got).values())

    def _classify_ids(self, seq: int, got: Event) -> str:
        earlier = sorted((s, c) for s, c in self.calls.items() if s < seq)
        observed = set(_wire_ids(got).values())
        for _, call in reversed(earlier):
            if observed & {call["user_id"], call["anonymous_id"]} - set(self._ids_of(seq)):
                if call["kind"] == "identify":
                    return "server.state.identify-changes-nothing"
                return "server.state.no-carry-over"
        return "server.ids.exactly-as-given"

    def _ids_of(self, seq: int) -> tuple[str | None, str | None]:
        call = self.calls.get(seq, {})
        return call.get("user_id"), call.get("anonymous_id")

    def _unexpected(self, event: Event) -> None:
        number = self.seq_of(step_number(event))
        if number is not None and self.window_calls.get(number, {}).get("refused"):
            self._violate("server.ids.at-least-one",
                          f"the call without ids (step {number}) still sent an event",
                          expected=None, observed=event, step=number)
            return
        super()._unexpected(event)

    def after_window(self, pairs: list[tuple[int, Event, list[Event]]]) -> None:
        """Both ids on one call link them downstream."""
        del pairs
        ordered = sorted(range(len(self.history_observed)), key=lambda i: self.history_observed[i][0])
        # Server SDKs put the ids of one call on one event: whatever fields the id model uses,
        # the event links its user to its anonymous key (anonymous, device or distinct id).
        expected = resolve([self.history_expected[i] for i in ordered], Link.BOTH_IDS)
        for _, event in self.history_observed[len(self.dual_observed):]:
            self.dual_observed.append(_dual(event))  # once per event, not once per flush
        observed = resolve([self.dual_observed[i] for i in ordered], Link.BOTH_IDS)
        for k, i in enumerate(ordered):
            seq = self.history_observed[i][0]
            if self._ids_of(seq)[0] is not None or expected[k].user_id is None:
                continue  # only anonymous calls that a later call links are this rule's
            self._check("server.ids.both-link")
            if not self._same_person(expected[k], observed[k]):
                self._violate("server.ids.both-link",
                              f"downstream, the event of step {seq} resolves to {observed[k]} "
                              f"instead of {expected[k]}",
                              expected=str(expected[k]), observed=str(observed[k]), step=seq)


def _dual(event: Event) -> Event:
    """The event with its anonymous key in ``anonymous_id``, whatever field carried it."""
    key = event.anonymous_key
    return event if key == event.anonymous_id else attrs.evolve(event, anonymous_id=key)


def _wire_ids(event: Event) -> dict[str, str]:
    """Every id field an event carries on the wire."""
    fields = {"user_id": event.user_id, "anonymous_id": event.anonymous_id,
              "distinct_id": event.distinct_id, "device_id": event.device_id}  # fmt: skip
    return {k: v for k, v in fields.items() if v is not None}


# ---------------------------------------------------------------------------------------------
def build_machines(harness: Harness) -> list[type[_Base]]:
    """The machine classes that apply to the harness's adapter, with only its capable rules."""
    info = harness.info
    caps = info.capabilities
    machines: list[type[_Base]] = []
    if info.kind.client:
        ns: dict[str, Any] = {"harness": harness}
        if "reset" in caps:
            ns["reset"] = drawn_rule(device=gen.DEVICE_POOL)(ClientMachine._reset)  # noqa: SLF001
        if "persistence" in caps:
            ns["reopen"] = drawn_rule(device=gen.DEVICE_POOL)(ClientMachine._reopen)  # noqa: SLF001
        if "alias" in caps and harness.profile.alias_supported:
            ns["alias"] = drawn_rule(device=gen.DEVICE_POOL, new_id=gen.USER_POOL)(ClientMachine._alias)  # noqa: SLF001
        if "retries" in caps:
            ns["lose_next_delivery_ack"] = rule()(ClientMachine._lose_ack)  # noqa: SLF001
        machines.append(type("ClientMachine", (ClientMachine,), ns))
    if info.kind.server:
        ns = {"harness": harness}
        if "identify" in caps:
            ns["identify"] = drawn_rule(user_id=gen.USER_OR_NONE_POOL,
                                        anonymous_id=gen.ANONYMOUS_ID_OR_NONE_POOL,
                                        traits=gen.TRAIT_POOL)(ServerMachine._identify)  # noqa: SLF001
        if "threads" in caps:
            ns["concurrent_calls"] = drawn_rule(count=gen.THREAD_COUNT_POOL)(ServerMachine._threads)  # noqa: SLF001
        if "retries" in caps:
            ns["lose_next_delivery_ack"] = rule()(ServerMachine._lose_ack)  # noqa: SLF001
        machines.append(type("ServerMachine", (ServerMachine,), ns))
    return machines


def run_machine(
    machine: type[RuleBasedStateMachine], settings: hypothesis.settings, seed: int | None = None
) -> None:
    """Run one machine class under Hypothesis with ``settings`` (and ``seed``, if given).

    Hypothesis gets a factory function rather than the class: on every run it digests
    the source of what it is given (for its database key and derandomized seed), and
    finding a class's source means parsing its whole module, which cost as much as a
    short run's steps. The factory's source is one line.
    """

    def new_machine() -> RuleBasedStateMachine:
        return machine()

    factory: Callable[[], RuleBasedStateMachine] = new_machine
    if seed is not None:
        factory = hypothesis.seed(seed)(factory)
    # Hypothesis only ever calls it (``state_machine_factory()``) when settings are given,
    # although newer releases annotate the parameter as the class.
    machine_factory = cast("type[RuleBasedStateMachine]", factory)
    run_state_machine_as_test(machine_factory, settings=settings)  # type: ignore[no-untyped-call, unused-ignore]


def requirement_applies(  # noqa: PLR0911  (one reason per early return)
    requirement_id: str, capability: str | None, harness: Harness
) -> str | None:
    """``None`` if the requirement applies to the adapter, else the reason it is skipped."""
    info = harness.info
    scope = requirement_id.split(".", 1)[0]
    if scope == "client" and not info.kind.client:
        return f"adapter {info.name!r} is a {info.kind.value} SDK"
    if scope == "server" and not info.kind.server:
        return f"adapter {info.name!r} is a {info.kind.value} SDK"
    if capability is not None and capability not in info.capabilities:
        return f"adapter {info.name!r} does not declare capability {capability!r}"
    profile = harness.profile
    if requirement_id == "client.alias.names-both-ids" and not profile.alias_supported:
        return f"profile {profile.name!r} has no alias"
    if requirement_id == "client.anonymous-id.rotates-on-reset" and not profile.reset_rotates_anonymous_id:
        return f"profile {profile.name!r} keeps the anonymous id on reset"
    if (requirement_id == "client.reset.forgets-traits"
            and profile.identify_emits is IdentifyEmits.NEVER):
        return f"profile {profile.name!r} puts no traits on client events"
    if requirement_id == "delivery.order.per-client" and not info.kind.client:
        return "per-client order is a client-SDK rule"
    if requirement_id == "delivery.order.per-client" and not profile.ordered_delivery:
        return f"profile {profile.name!r} does not promise order"
    return None

