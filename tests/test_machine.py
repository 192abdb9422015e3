"""Tests for conformance.machines: which requirement a difference is filed under."""

from __future__ import annotations

import pytest

from conformance import Collector, replay
from conformance.adapters.catalogue import load_adapter
from conformance.engine.harness import Harness
from conformance.machines import ServerMachine, build_machines, step_number
from simulator import Event, Kind, get_profile


def _found(adapter: str, steps: list[tuple[str, dict[str, object]]], machine: str = "client") -> set[str]:
    return {v.requirement for v in replay(adapter, steps, machine=machine)}


def test_reference_passes_a_reopen_sequence() -> None:
    """The reference SDK shows no violation across close and reopen on the same storage."""
    steps = [("track", {"device": "device-0", "name": "a", "properties": {}}),
             ("identify", {"device": "device-0", "user_id": "u1", "traits": {"k": 1}}),
             ("reopen", {"device": "device-0"}),
             ("track", {"device": "device-0", "name": "b", "properties": {}}),
             ("flush", {})]
    assert _found("reference", steps) == set()


def test_id_change_after_a_reopen_is_instability_not_persistence() -> None:
    """An anonymous id that changes between two events after a reopen breaks the MUST rule."""
    steps = [("reopen", {"device": "device-0"}),
             ("track", {"device": "device-0", "name": "a", "properties": {}}),
             ("track", {"device": "device-0", "name": "b", "properties": {}})]
    assert _found("mutant-anonymous-id-per-event", steps) == {"client.anonymous-id.stable"}


def test_single_threaded_payload_bug_is_not_blamed_on_threads() -> None:
    """A payload change on concurrent calls that carry their own data is not a threading fault."""
    steps = [("concurrent_calls", {"count": 2})]
    assert _found("mutant-server-mutates-properties", steps, "server") == {
        "server.arguments.not-retained"
    }


def test_reset_traits_reach_the_next_identify() -> None:
    """Traits kept across reset and sent with the next identify break client.reset.forgets-traits."""
    steps = [("identify", {"device": "device-0", "user_id": "u1", "traits": {"plan": "pro"}}),
             ("reset", {"device": "device-0"}),
             ("identify", {"device": "device-0", "user_id": "u2", "traits": {"x": 1}}),
             ("flush", {})]
    assert _found("mutant-reset-keeps-traits", steps) == {"client.reset.forgets-traits"}


def test_closing_probe_sees_a_user_kept_after_reset() -> None:
    """With no track after identify and reset, teardown's probe event still shows the kept user."""
    steps = [("identify", {"device": "device-0", "user_id": "u1", "traits": {"k": 1}}),
             ("reset", {"device": "device-0"})]
    assert "client.reset.forgets-user" in _found("mutant-reset-keeps-user", steps)


def test_drawn_rules_replay_with_their_recorded_arguments() -> None:
    """A rule drawn as one index replays from the keyword arguments its trace step recorded."""
    steps = [("track_reused_object", {"device": "device-1", "name": "n", "key": "a",
                                      "value": [1, {"b": None}]}),
             ("reset", {"device": "device-1"}),
             ("flush", {})]  # fmt: skip
    assert _found("reference", steps) == set()


def test_trace_keeps_drawn_arguments_as_called_when_the_sdk_mutates_them() -> None:
    """A failing trace shows the properties as the rule passed them, not as the SDK left them."""
    collector = Collector()
    harness = Harness(load_adapter("mutant-server-mutates-properties")(collector), collector,
                      get_profile("seed"))  # fmt: skip
    [machine] = [m for m in build_machines(harness) if issubclass(m, ServerMachine)]
    state = machine()
    index = next(i for i in range(10_000)
                 if state.track.calls.decode(i)["properties"])  # type: ignore[attr-defined]
    state.track(call=index)
    with pytest.raises(Exception, match="not-retained|changed the properties"):
        state.flush()
    [step] = [s for s in harness.last_failing_trace or [] if s["rule"] == "track"]
    assert step["args"]["properties"] == state.track.calls.decode(index)["properties"]  # type: ignore[attr-defined]
    harness.close()


@pytest.mark.parametrize(
    ("event", "number"),
    [
        (Event(Kind.TRACK, name="Paid#17"), 17),
        (Event(Kind.TRACK, name="a#b#3"), 3),
        (Event(Kind.TRACK, name="Paid#x"), None),
        (Event(Kind.TRACK, name="Paid#\u00b2"), None),  # a digit, but not a decimal one
        (Event(Kind.TRACK, name="Paid"), None),
        (Event(Kind.IDENTIFY, traits={"ic_seq": 4}), 4),
        (Event(Kind.IDENTIFY, traits={"ic_seq": True}), None),
        (Event(Kind.IDENTIFY, traits={"ic_seq": "4"}), None),
        (Event(Kind.ALIAS), None),
    ],
)
def test_step_number_reads_the_marker_and_never_crashes_on_garbage(event: Event, number: int | None) -> None:
    """The step number comes from a track name's last '#' suffix or the ic_seq trait; anything else is None."""
    assert step_number(event) == number


def test_step_numbers_index_the_trace_after_concurrent_calls_and_the_probe() -> None:
    """Every call the suite makes has a trace entry: step n is trace[n - 1], threads and probes included."""
    from conformance.adapters.reference import ReferenceAdapter
    from conformance.collector.store import Collector
    from conformance.engine.harness import Harness
    from simulator import get_profile

    collector = Collector()
    harness = Harness(ReferenceAdapter(collector), collector, get_profile("seed"))
    machines = {m.machine_name: m for m in build_machines(harness)}
    server = machines["server"]()
    server.concurrent_calls.body(server, count=3)
    server.track.body(server, name="a", properties={}, user_id="u1", anonymous_id=None)
    assert len(server.trace) == server.seq == 5
    assert [s.get("made_by") for s in server.trace] == [None, "concurrent_calls", "concurrent_calls",
                                                      "concurrent_calls", None]
    server.teardown()
    client = machines["client"]()
    client.track.body(client, device="device-0", name="a", properties={})
    client.teardown()
    assert len(client.trace) == client.seq == 2
    assert client.trace[1]["made_by"] == "teardown"
    assert "closing probe event of device-0" in client.trace[1]["args"]["note"]
    harness.close()


class _BatchedPerDevice:
    """The reference SDK sending each device's events together, the last-opened device first.

    Browser SDKs batch per page and pages flush one after another, so unmarked events (an
    alias carries no step marker) of two devices arrive out of call order.
    """

    def __new__(cls, collector: Collector, *, shared_anonymous_id: bool = False) -> object:
        from conformance.adapters.reference import ReferenceAdapter
        from simulator.testing import replace_anonymous_id

        class Adapter(ReferenceAdapter):
            first_anonymous_id: str | None = None

            def _deliver(self, events: list[Event]) -> None:
                devices = list(dict.fromkeys(e.source for e in events))
                super()._deliver([e for d in reversed(devices) for e in events if e.source == d])

            def open_client(self, storage_key: str) -> object:  # type: ignore[override]
                fresh = storage_key not in self.sdk.storage
                client = super().open_client(storage_key)
                if shared_anonymous_id and fresh:
                    self.first_anonymous_id = self.first_anonymous_id or client.anonymous_id
                    replace_anonymous_id(client, self.first_anonymous_id)
                return client

        return Adapter(collector, profile="posthog", seed=99)


_TWO_DEVICES_ALIAS_ONE_ID = [("alias", {"device": "device-0", "new_id": "u1"}),
                             ("alias", {"device": "device-1", "new_id": "u1"}),
                             ("alias", {"device": "device-0", "new_id": "u1"})]


def test_unmarked_events_of_two_devices_are_paired_by_the_ids_marked_events_show() -> None:
    """Aliases of two devices to one id, arriving batched per device, are not read as id changes."""
    violations = replay(_BatchedPerDevice, _TWO_DEVICES_ALIAS_ONE_ID, profile="posthog")
    assert violations == []


def test_a_guessed_pairing_binds_no_ids_for_later_windows() -> None:
    """When nothing tells two devices' aliases apart, the guess binds nothing a later window contradicts."""
    steps = [("alias", {"device": "device-0", "new_id": "u2"}),
             ("alias", {"device": "device-2", "new_id": "u2"}),
             ("flush", {}),
             ("alias", {"device": "device-2", "new_id": "u3"}),
             ("reset", {"device": "device-2"}),
             ("alias", {"device": "device-0", "new_id": "u2"})]
    assert replay(_BatchedPerDevice, steps, profile="posthog") == []


def test_a_shared_anonymous_id_is_caught_on_unmarked_events() -> None:
    """Two devices sending one anonymous id break per-client even when only aliases show it."""
    def adapter(collector: Collector) -> object:
        return _BatchedPerDevice(collector, shared_anonymous_id=True)

    found = {v.requirement for v in replay(adapter, _TWO_DEVICES_ALIAS_ONE_ID[:2], profile="posthog")}
    assert "client.anonymous-id.per-client" in found


def test_payload_difference_names_the_keys_added_lost_and_changed() -> None:
    """A payload violation says which property and trait keys appeared, went missing or changed."""
    from conformance.machines.server_checks import payload_difference

    want = ({"plan": "pro", "n": 1}, {"b": ""})
    got = ({"plan": "free", "$lib": "x"}, {"b": "", "$context_tags": []})
    assert payload_difference(want, got) == (
        "properties added '$lib'; properties lost 'n'; properties changed 'plan'; traits added '$context_tags'")
    assert payload_difference(want, want) == "the same keys and values, in another form"


def test_a_mutant_that_writes_into_the_callers_traits_breaks_not_retained() -> None:
    """identify() adding a key to the caller's traits dict is a server.arguments.not-retained violation."""
    violations = replay(adapter="mutant-server-mutates-traits", machine="server",
                        steps=[("identify", {"user_id": "u1", "anonymous_id": None, "traits": {"b": ""}})])  # fmt: skip
    messages = {v.requirement: v.message for v in violations}
    assert messages["server.arguments.not-retained"] in {
        "identify (step 1) changed the traits dict the caller passed",
        "the event of step 1 carried another payload (traits added '$context_tags')",
    }


def test_identify_with_context_checks_the_callers_context_and_replay_keeps_the_steps_as_given() -> None:
    """An identify that writes into the caller's context breaks not-retained; the replayed steps stay as written."""
    context = {"traits": {"email": "jane@example.com"}, "groupId": "acme"}
    steps = [("identify_with_context", {"context": context, "user_id": "u1", "anonymous_id": "anon-a",
                                        "traits": {"plan": "pro"}})]  # fmt: skip
    violations = replay(adapter="mutant-server-identify-writes-into-context", machine="server", steps=steps)
    assert [v.message for v in violations if v.requirement == "server.arguments.not-retained"] == [
        "identify_with_context (step 1) changed the context dict the caller passed (context added 'library')"]
    assert context == {"traits": {"email": "jane@example.com"}, "groupId": "acme"}
    assert replay(adapter="reference", machine="server", steps=steps) == []


@pytest.mark.parametrize("slow", [True, False])
def test_slow_answers_are_drawn_only_for_an_adapter_that_declares_its_request_timeout(slow: bool) -> None:
    """With info.request_timeout: a slow outage and answer_next_delivery_late (with retries); without, neither.

    Both share track_during_outage's once-per-example turn: each costs the SDK's whole timeout.
    """
    import json

    import attrs

    from conformance.adapters.reference import ReferenceAdapter

    collector = Collector()
    adapter = ReferenceAdapter(collector)
    if not slow:
        adapter._info = attrs.evolve(adapter.info, request_timeout=None)
    harness = Harness(adapter, collector, get_profile("seed"))
    [machine] = [m for m in build_machines(harness) if issubclass(m, ServerMachine)]
    pool = machine.track_during_outage.calls.fields["faults"]  # type: ignore[attr-defined]
    assert (["slow"] in [json.loads(text) for text in pool]) is slow
    assert hasattr(machine, "answer_next_delivery_late") is slow
    if slow:
        state = machine()
        state.answer_next_delivery_late()
        assert state.had_outage
        assert collector.slow_answer_seconds == harness.info.request_timeout + 0.5  # type: ignore[operator]
        assert state.trace[-1]["rule"] == "answer_next_delivery_late"
        state.teardown()
    harness.close()
