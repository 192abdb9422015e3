"""The adversarial meta-suite: adapters that are wrong on purpose must never get a pass.

Each adapter here is the reference SDK with one way of being wrong that an earlier
version of the suite let through with exit code 0. Every test asserts a non-zero exit
code and the verdict and requirement the wrongness must produce; hanging adapters also
assert that the run ends within a stated bound (``HANG_BOUND``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import attrs
import pytest

from conformance import (
    AdapterFailedError,
    Collector,
    InvalidAdapterError,
    RunSettings,
    Verdict,
    run,
)
from conformance._errors import DeliveryFailedError
from conformance.adapters.reference import ReferenceAdapter
from conformance.engine.harness import Harness
from conformance.machines import build_machines
from conformance.machines.strategies import SDK_FIELD_KEYS
from simulator import DeliveryError, Event, Kind, ReferenceClient, get_profile

SMALL = RunSettings(max_examples=25, step_count=12)
TIMEOUT = 0.5
HANG_BOUND = 3 * TIMEOUT + 1.0
"""A hanging adapter's run must end within 3 step timeouts plus a second (set-up aside)."""
TIMED = RunSettings(max_examples=3, step_count=4, step_timeout=TIMEOUT)
TIMED_LONGER = RunSettings(max_examples=10, step_count=10, step_timeout=TIMEOUT)


def _verdicts(result: Any) -> dict[str, Verdict]:
    return {r.requirement: r.verdict for r in result.results}


def _assert_verdict(result: Any, requirement: str, verdict: Verdict) -> None:
    got = _verdicts(result)[requirement]
    assert got is verdict, (requirement, got, [(r.requirement, r.verdict.value, r.reason)
                                               for r in result.results if r.verdict is not Verdict.PASS])
    assert result.exit_code != 0


def _assert_error(result: Any, requirement: str, *, naming: str) -> None:
    _assert_verdict(result, requirement, Verdict.ERROR)
    reason = next(r.reason for r in result.results if r.requirement == requirement)
    assert naming in reason, reason


class _Session:
    """A client session that forwards to a reference client; subclasses bend one call."""

    def __init__(self, client: ReferenceClient, adapter: _Bent) -> None:
        self.client, self.adapter = client, adapter

    def track(self, name: str, properties: Mapping[str, Any]) -> None:
        self.client.track(name, properties)

    def identify(self, user_id: str, traits: Mapping[str, Any]) -> None:
        self.client.identify(user_id, traits)

    def reset(self) -> None:
        self.client.reset()

    def alias(self, new_id: str) -> None:
        self.client.alias(new_id)

    def close(self) -> None:
        self.client.close()


class _Bent(ReferenceAdapter):
    """The reference adapter with hooks: the sessions it opens and how it delivers."""

    session: type[_Session] = _Session
    capabilities: frozenset[str] | None = None

    def __init__(self, collector: Collector) -> None:
        super().__init__(collector)
        self.sessions: list[_Session] = []
        self.calls = 0
        if self.capabilities is not None:
            self._info = attrs.evolve(self._info, capabilities=self.capabilities)

    def open_client(self, storage_key: str) -> Any:
        session = self.session(super().open_client(storage_key), self)
        self.sessions.append(session)
        return session


def _client_only(cls: type[_Bent]) -> type[_Bent]:
    """The same adapter declared as a client SDK only (quicker runs, client verdicts)."""
    original = cls.__init__

    def init(self: _Bent, collector: Collector) -> None:
        original(self, collector)
        self._info = attrs.evolve(self._info, kind=self._info.kind.CLIENT)

    cls.__init__ = init  # type: ignore[method-assign]
    return cls


# -- 1. duplicates and message ids -------------------------------------------------------------
class _TwiceWithoutMessageIds(_Bent):
    def _deliver(self, events: list[Event]) -> None:
        stripped = [attrs.evolve(e, message_id=None) for e in events]
        super()._deliver(stripped)
        super()._deliver(stripped)


class _NoMessageIds(_Bent):
    def _deliver(self, events: list[Event]) -> None:
        super()._deliver([attrs.evolve(e, message_id=None) for e in events])


def test_duplicates_without_message_ids_fail_exactly_once() -> None:
    """Every event sent twice with no message id is a FAIL of delivery.exactly-once."""
    result = run(_TwiceWithoutMessageIds, run_settings=SMALL)
    _assert_verdict(result, "delivery.exactly-once", Verdict.FAIL)


def test_events_without_message_ids_fail_message_id_unique() -> None:
    """An SDK that sends no message ids fails delivery.message-id.unique."""
    result = run(_NoMessageIds, run_settings=SMALL)
    _assert_verdict(result, "delivery.message-id.unique", Verdict.FAIL)


def test_duplicate_posts_over_http_fail_exactly_once() -> None:
    """Two identical Segment batches over HTTP for each delivery fail delivery.exactly-once."""
    import json
    import urllib.request

    from conformance.collector.http import HttpCollector

    class OverHttp(_Bent):
        def __init__(self, collector: Collector) -> None:
            super().__init__(collector)
            self.http = HttpCollector(collector)
            self.url = self.http.start()

        def _deliver(self, events: list[Event]) -> None:
            batch = [{"type": e.kind.value if e.kind is not Kind.MERGE else "alias",
                      "event": e.name, "userId": e.user_id, "anonymousId": e.anonymous_id,
                      "previousId": e.previous_id, "properties": dict(e.properties),
                      "traits": dict(e.traits)} for e in events]  # fmt: skip
            body = json.dumps({"batch": batch}).encode()
            for _ in range(2):
                request = urllib.request.Request(f"{self.url}/v1/batch", data=body,  # noqa: S310
                                                 headers={"Content-Type": "application/json"})
                with urllib.request.urlopen(request, timeout=5) as reply:  # noqa: S310
                    reply.read()

        def shutdown(self) -> None:
            super().shutdown()
            self.http.stop()

    result = run(_client_only(OverHttp), profile="segment", run_settings=SMALL)
    _assert_verdict(result, "delivery.exactly-once", Verdict.FAIL)


# -- 2. one-off crashes and hangs ---------------------------------------------------------------
class _RaisesOnceAfterQueueing(_Bent):
    def track(self, event: str, properties: Mapping[str, Any], **ids: Any) -> None:
        super().track(event, properties, **ids)
        self.calls += 1
        if self.calls == 7:
            raise RuntimeError("one-off crash after queueing")


class _HangsOnce(_Bent):
    def track(self, event: str, properties: Mapping[str, Any], **ids: Any) -> None:
        self.calls += 1
        if self.calls == 3:
            time.sleep(30)
        super().track(event, properties, **ids)


class _FlushFailsOnce(_Bent):
    def flush(self) -> None:
        self.calls += 1
        if self.calls == 4:
            raise ConnectionError("one-off flush failure")
        super().flush()


def test_a_one_off_crash_is_an_error_not_a_pass() -> None:
    """A crash that does not happen again on replay (Hypothesis: Flaky) is an ERROR, exit 1."""
    result = run(_RaisesOnceAfterQueueing, run_settings=SMALL)
    _assert_error(result, "server.ids.exactly-as-given", naming="one-off crash")


def test_a_one_off_hang_is_an_error_within_the_bound() -> None:
    """A call that hangs once is an ERROR naming the timeout, and the run ends quickly."""
    started = time.monotonic()
    result = run(_HangsOnce, run_settings=TIMED_LONGER)
    assert time.monotonic() - started < HANG_BOUND + 2.0  # the rest of the run is fast
    _assert_error(result, "server.ids.exactly-as-given", naming="did not return within")


def test_a_one_off_flush_failure_is_an_error() -> None:
    """A flush that fails once is an ERROR, never a pass."""
    result = run(_FlushFailsOnce, run_settings=SMALL)
    assert result.exit_code == 1
    assert Verdict.ERROR in set(_verdicts(result).values())


# -- 3. BaseExceptions from the adapter ---------------------------------------------------------
class _ExitsOnTheNthCall(_Bent):
    def track(self, event: str, properties: Mapping[str, Any], **ids: Any) -> None:
        self.calls += 1
        if self.calls == 12:
            raise SystemExit(0)
        super().track(event, properties, **ids)


class _Interrupted(Exception):  # noqa: N818
    pass


class _CustomBase(BaseException):
    pass


class _RaisesBaseException(_Bent):
    def track(self, event: str, properties: Mapping[str, Any], **ids: Any) -> None:
        raise _CustomBase("not an Exception")


def test_system_exit_inside_track_is_an_error() -> None:
    """SystemExit from an adapter call ends nothing early: it is an ERROR, exit 1."""
    result = run(_ExitsOnTheNthCall, run_settings=SMALL)
    _assert_error(result, "server.ids.exactly-as-given", naming="SystemExit")


def test_other_base_exceptions_are_errors_with_a_report() -> None:
    """A BaseException that is not an Exception becomes an ERROR verdict, not a crash."""
    result = run(_RaisesBaseException, run_settings=SMALL)
    _assert_error(result, "server.ids.exactly-as-given", naming="_CustomBase")


def test_keyboard_interrupt_inside_an_adapter_ends_the_run_with_a_report() -> None:
    """KeyboardInterrupt in an adapter call stops the run; the verdicts say it was interrupted."""

    class Interrupting(_Bent):
        def track(self, event: str, properties: Mapping[str, Any], **ids: Any) -> None:
            raise KeyboardInterrupt

    result = run(Interrupting, run_settings=SMALL)
    _assert_error(result, "server.ids.exactly-as-given", naming="interrupted")


# -- 4-6. client identify ----------------------------------------------------------------------
class _RefusesButSends(_Session):
    def identify(self, user_id: str, traits: Mapping[str, Any]) -> None:
        if not user_id:
            self.client.identify("someone", traits)  # sends an identify event anyway
            msg = "user id required"
            raise ValueError(msg)
        super().identify(user_id, traits)


@_client_only
class _RefusesButSendsAdapter(_Bent):
    session = _RefusesButSends


def test_identify_without_user_that_raises_but_sends_fails() -> None:
    """identify(None) that raises but still sends an identify event fails requires-user-id."""
    result = run(_RefusesButSendsAdapter, run_settings=SMALL)
    _assert_verdict(result, "client.identify.requires-user-id", Verdict.FAIL)


class _TiesOtherDevices(_Session):
    def identify(self, user_id: str, traits: Mapping[str, Any]) -> None:
        super().identify(user_id, traits)
        for other in self.adapter.sessions:
            if other is not self and not other.client.closed:
                # An extra identify event tying this user to another device's anonymous id.
                self.adapter.collector.ingest([Event(
                    kind=Kind.IDENTIFY, user_id=user_id, anonymous_id=other.client.anonymous_id,
                    message_id=f"tie-{id(other)}-{user_id}-{self.adapter.calls}")])  # fmt: skip
                self.adapter.calls += 1


@_client_only
class _TiesOtherDevicesAdapter(_Bent):
    session = _TiesOtherDevices


def test_identify_tying_other_devices_fails_isolation() -> None:
    """Extra identify events linking a user to other devices' anonymous ids fail isolation."""
    result = run(_TiesOtherDevicesAdapter, run_settings=SMALL)
    _assert_verdict(result, "client.isolation.between-clients", Verdict.FAIL)


class _MergesIdentifiedUsers(_Session):
    def identify(self, user_id: str, traits: Mapping[str, Any]) -> None:
        previous = self.client.user_id
        super().identify(user_id, traits)
        if previous is not None and previous != user_id:
            self.adapter.collector.ingest([Event(
                kind=Kind.MERGE, user_id=user_id, previous_id=previous,
                message_id=f"merge-{previous}-{user_id}-{self.adapter.calls}")])  # fmt: skip
            self.adapter.calls += 1


@_client_only
class _MergesIdentifiedUsersAdapter(_Bent):
    session = _MergesIdentifiedUsers


def test_identify_merging_two_identified_users_fails() -> None:
    """A merge event naming another identified user as the previous id fails no-merge."""
    result = run(_MergesIdentifiedUsersAdapter, run_settings=SMALL)
    _assert_verdict(result, "client.identify.no-merge-of-identified-users", Verdict.FAIL)


class _LosesIdentifyEvents(_Bent):
    capabilities = frozenset({"identify"})

    def _deliver(self, events: list[Event]) -> None:
        super()._deliver([e for e in events if e.kind is not Kind.IDENTIFY])


def test_lost_identify_events_fail_delivery_without_reset() -> None:
    """Client identify events that never arrive fail delivery.exactly-once (no reset declared)."""
    result = run(_client_only(_LosesIdentifyEvents), profile="segment", run_settings=SMALL)
    _assert_verdict(result, "delivery.exactly-once", Verdict.FAIL)


# -- 7. honest exercised counting --------------------------------------------------------------
def test_identify_changes_nothing_is_not_exercised_without_an_identify() -> None:
    """Server calls with no identify before them do not count as checks of identify-changes-nothing."""
    collector = Collector()
    adapter = ReferenceAdapter(collector)
    harness = Harness(adapter, collector, get_profile("seed"))
    server = next(m for m in build_machines(harness) if m.machine_name == "server")
    state = server()
    for i in range(3):
        server.track.body(state, name=f"e{i}", properties={}, user_id="u1", anonymous_id=None)  # type: ignore[attr-defined]
    state.teardown()
    assert harness.checks["server.ids.exactly-as-given"] == 3
    assert harness.checks["server.state.identify-changes-nothing"] == 0


class _IdentifyTypeError(_Bent):
    def identify(self, **kwargs: Any) -> None:
        raise TypeError("identify() got an unexpected keyword argument")


def test_identify_raising_type_error_on_every_call_is_not_a_pass() -> None:
    """An adapter whose identify always raises TypeError exits non-zero with an ERROR."""
    result = run(_IdentifyTypeError, run_settings=SMALL)
    assert result.exit_code == 1
    assert _verdicts(result)["server.state.identify-changes-nothing"] is Verdict.ERROR


# -- late delivery, declarations --------------------------------------------------------------
class _FlushReturnsEarly(_Bent):
    """Hands delivery to a thread and returns at once: usually wins the race."""

    def flush(self) -> None:
        pending = self.sdk.flush  # deliver on a thread, a moment later
        thread = threading.Thread(target=lambda: (time.sleep(0.002), pending()), daemon=True)
        thread.start()


def test_delivery_after_flush_returned_fails_exactly_once() -> None:
    """Events that arrive after flush() returned are late: delivery.exactly-once fails."""
    result = run(_FlushReturnsEarly, run_settings=SMALL)
    _assert_verdict(result, "delivery.exactly-once", Verdict.FAIL)


@attrs.define
class _RacingCollector(Collector):
    """Lets a test deliver at the worst moment: after flush() returned, before the drain."""

    before_drain: Callable[[], None] | None = None

    def drain(self) -> list[Event]:
        if self.before_drain is not None:
            self.before_drain()
        return super().drain()


class _WinsTheRace(_Bent):
    """flush() hands delivery to a thread that delivers just before the suite looks."""

    def __init__(self, collector: Collector) -> None:
        super().__init__(collector)
        self.held: list[Event] = []
        self.holding = False
        assert isinstance(collector, _RacingCollector)
        collector.before_drain = self._release

    def _deliver(self, events: list[Event]) -> None:
        if self.holding:
            self.held.extend(events)
            return
        super()._deliver(events)

    def flush(self) -> None:
        self.holding = True
        try:
            self.sdk.flush()
        finally:
            self.holding = False

    def _release(self) -> None:
        held, self.held = self.held, []
        if held:
            with contextlib.suppress(DeliveryFailedError):
                super()._deliver(held)


def test_delivery_that_wins_the_race_after_flush_still_fails() -> None:
    """A delivery landing between flush()'s return and the suite's look is still late."""
    result = run(_WinsTheRace, run_settings=SMALL, collector=_RacingCollector())
    _assert_verdict(result, "delivery.exactly-once", Verdict.FAIL)
    reasons = [v.message for r in result.results for v in r.violations]
    assert any("after flush() had returned" in m for m in reasons), reasons


class _UnknownCapability(_Bent):
    capabilities = frozenset({"identify", "resett"})


def test_unknown_capability_names_the_closest_known_one() -> None:
    """An unknown capability name is a usage error naming the closest known one."""
    with pytest.raises(InvalidAdapterError, match=r"'resett'.*'reset'"):
        run(_UnknownCapability, run_settings=SMALL)


class _TasksWithoutThreads(_Bent):
    capabilities = frozenset({"identify", "asyncio-tasks"})

    async def track_async(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
                          anonymous_id: str | None) -> None:  # fmt: skip
        self.track(event, properties, user_id=user_id, anonymous_id=anonymous_id)


def test_asyncio_tasks_without_threads_is_refused_rather_than_checked_by_nothing() -> None:
    """'asyncio-tasks' alone would run concurrent tasks under a skipped requirement: refused, naming both."""
    with pytest.raises(InvalidAdapterError, match=r"'asyncio-tasks' without 'threads'"):
        run(_TasksWithoutThreads, run_settings=SMALL)


class _TasksMissing(_Bent):
    capabilities = frozenset({"identify", "threads", "asyncio-tasks"})
    track_async = None  # type: ignore[assignment]  # the reference's, taken away


def test_asyncio_tasks_without_track_async_is_not_an_adapter() -> None:
    """Declaring 'asyncio-tasks' needs a track_async coroutine; without one the adapter is refused, naming it."""
    with pytest.raises(InvalidAdapterError, match="missing: track_async"):
        run(_TasksMissing, run_settings=SMALL)


class _SharedAcrossTasks(_Bent):
    """Keeps the ids of the call in progress per thread across its await: tasks on one loop see each other's."""

    capabilities = frozenset({"identify", "threads", "asyncio-tasks"})
    current: ClassVar[dict[int, tuple[str | None, str | None]]] = {}

    async def track_async(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
                          anonymous_id: str | None) -> None:  # fmt: skip
        key = threading.get_ident()
        self.current[key] = (user_id, anonymous_id)
        await asyncio.sleep(0)
        user_id, anonymous_id = self.current[key]
        self.track(event, properties, user_id=user_id, anonymous_id=anonymous_id)


def test_identity_shared_by_tasks_on_one_thread_fails_thread_isolation() -> None:
    """An SDK isolating threads but not asyncio tasks fails server.threads.isolated through concurrent_tasks."""
    result = run(_SharedAcrossTasks, run_settings=SMALL)
    _assert_verdict(result, "server.threads.isolated", Verdict.FAIL)


class _NoCapabilities(_Bent):
    """A server SDK declaring no capabilities: 7 pass and 20 skip, which once read as clean."""

    capabilities = frozenset()

    def __init__(self, collector: Collector) -> None:
        super().__init__(collector)
        self._info = attrs.evolve(self._info, kind=self._info.kind.SERVER)


def test_no_capabilities_warns_and_require_all_fails() -> None:
    """Declaring no capabilities gives a headline warning; --require-all makes it exit 1."""
    result = run(_NoCapabilities, run_settings=SMALL)
    assert any("skipped" in w for w in result.warnings)
    strict = run(_NoCapabilities, run_settings=SMALL, require_all=True)
    assert strict.exit_code == 1


# -- hangs that used to escape the step timeout ------------------------------------------------
def _hang(*args: Any, **kwargs: Any) -> None:
    time.sleep(30)


class _HangsWithoutIds(_Bent):
    capabilities = frozenset()

    def track(self, event: str, properties: Mapping[str, Any], **ids: Any) -> None:
        if not ids.get("user_id") and not ids.get("anonymous_id"):  # None or "": no id
            _hang()
        super().track(event, properties, **ids)


class _HangingRefusal(_Session):
    def identify(self, user_id: str, traits: Mapping[str, Any]) -> None:
        if not user_id:
            _hang()
        super().identify(user_id, traits)


@_client_only
class _HangingRefusalAdapter(_Bent):
    session = _HangingRefusal


class _HangingClose(_Session):
    def close(self) -> None:
        _hang()


@_client_only
class _HangingCloseAdapter(_Bent):
    session = _HangingClose


class _SwallowsTimeouts(_Bent):
    """An SDK retry loop that swallows every Exception, the timeout included."""

    def flush(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                time.sleep(30)
            except Exception:  # noqa: BLE001, S112, PERF203
                continue


class _HangingFlush(_Bent):
    def flush(self) -> None:
        _hang()


def _hanging_factory(collector: Collector) -> Any:
    _hang()


class _HangingInfo(ReferenceAdapter):
    @property
    def info(self) -> Any:
        _hang()


class _HangingInit(ReferenceAdapter):
    def __init__(self, collector: Collector) -> None:
        _hang()


def _timed(factory: Callable[[Collector], Any]) -> tuple[Any, float]:
    started = time.monotonic()
    try:
        result: Any = run(factory, run_settings=TIMED_LONGER)
    except AdapterFailedError as exc:
        result = exc
    return result, time.monotonic() - started


@pytest.mark.parametrize("factory", [
    _HangsWithoutIds, _HangingRefusalAdapter, _HangingCloseAdapter, _SwallowsTimeouts,
    _HangingFlush,
], ids=lambda f: f.__name__)  # fmt: skip
def test_hangs_end_in_an_error_within_the_bound(factory: Callable[[Collector], Any]) -> None:
    """A hang anywhere in a run is an ERROR within 3 step timeouts plus a second, and never re-run."""
    result, seconds = _timed(factory)
    assert seconds < HANG_BOUND, seconds
    assert result.exit_code == 1
    errors = [r for r in result.results if r.verdict is Verdict.ERROR]
    assert errors
    assert any("did not return within" in r.reason for r in errors), errors[0].reason


@pytest.mark.parametrize("factory", [_hanging_factory, _HangingInfo, _HangingInit],
                         ids=lambda f: f.__name__)  # fmt: skip
def test_hanging_set_up_is_an_adapter_error_within_the_bound(
    factory: Callable[[Collector], Any],
) -> None:
    """A factory, __init__ or info that hangs is an adapter error within the bound."""
    result, seconds = _timed(factory)
    assert seconds < HANG_BOUND, seconds
    assert isinstance(result, AdapterFailedError)
    assert "did not return within" in str(result)


# -- more ways of being wrong ------------------------------------------------------------------
@_client_only
class _ReversesEachBatch(_Bent):
    def _deliver(self, events: list[Event]) -> None:
        super()._deliver(list(reversed(events)))


def test_reordered_batches_fail_per_client_order() -> None:
    """A client SDK that delivers each batch in reverse fails delivery.order.per-client."""
    result = run(_ReversesEachBatch, run_settings=SMALL)
    assert _verdicts(result)["delivery.order.per-client"] is Verdict.FAIL


@_client_only
class _AnonymousIdPerEvent(_Bent):
    def _deliver(self, events: list[Event]) -> None:
        super()._deliver([attrs.evolve(e, anonymous_id=f"anon-{e.message_id}")
                          if e.kind is Kind.TRACK and e.anonymous_id else e for e in events])  # fmt: skip


def test_a_new_anonymous_id_per_event_fails_stability() -> None:
    """A client that stamps a fresh anonymous id on every event fails client.anonymous-id.stable."""
    result = run(_AnonymousIdPerEvent, run_settings=SMALL)
    _assert_verdict(result, "client.anonymous-id.stable", Verdict.FAIL)


class _SendsItsOwnEvents(_Bent):
    """Posts an event of its own from a background thread (a heartbeat no call asked for)."""

    def flush(self) -> None:
        super().flush()
        beat = Event(kind=Kind.TRACK, name="$heartbeat", anonymous_id="sdk-internal",
                     message_id=f"beat-{self.calls}")  # fmt: skip
        self.calls += 1
        thread = threading.Thread(target=self._beat, args=(beat,))
        thread.start()
        thread.join()


    def _beat(self, beat: Event) -> None:
        with contextlib.suppress(DeliveryFailedError):  # an armed fault refuses it: fine
            self.collector.ingest([beat])


def test_events_no_call_produced_fail_exactly_once() -> None:
    """An event that no call produced, sent from the SDK's own thread, fails delivery.exactly-once."""
    result = run(_SendsItsOwnEvents, run_settings=SMALL)
    _assert_verdict(result, "delivery.exactly-once", Verdict.FAIL)


class _CrashesInTeardownClose(_Session):
    def close(self) -> None:
        msg = "close failed"
        raise OSError(msg)


@_client_only
class _CrashesInTeardownCloseAdapter(_Bent):
    session = _CrashesInTeardownClose


def test_a_crashing_close_is_an_error_not_ignored() -> None:
    """close() raising in teardown is an adapter ERROR (it was once suppressed)."""
    result = run(_CrashesInTeardownCloseAdapter, run_settings=SMALL)
    _assert_error(result, "client.payload.as-called", naming="close failed")


class _WrongSignature(_Session):
    def identify(self, user_id: str) -> None:  # type: ignore[override]  # traits forgotten
        self.client.identify(user_id)


@_client_only
class _WrongSignatureAdapter(_Bent):
    session = _WrongSignature


def test_an_adapter_method_with_the_wrong_signature_is_an_adapter_error() -> None:
    """A TypeError from binding arguments is the adapter's bug: ERROR, not an SDK refusal or FAIL."""
    result = run(_WrongSignatureAdapter, run_settings=SMALL)
    _assert_error(result, "client.identify.requires-user-id", naming="TypeError")


# -- caller data named like SDK fields ------------------------------------------------------------
def _field_named(properties: Mapping[str, Any]) -> bool:
    return any(key in SDK_FIELD_KEYS for key in properties)


class _RefusesFieldNamedKeys(_Bent):
    """Refuses every call with a property named like an SDK field: allowed, but then never checked."""

    def track(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
              anonymous_id: str | None) -> None:  # fmt: skip
        if _field_named(properties):
            raise ValueError(f"refusing {sorted(properties)}")
        super().track(event, properties, user_id=user_id, anonymous_id=anonymous_id)


class _RefusesFieldNamedKeysButSends(_Bent):
    """Raises on a field-named property after queueing the event, which is then delivered."""

    def track(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
              anonymous_id: str | None) -> None:  # fmt: skip
        super().track(event, properties, user_id=user_id, anonymous_id=anonymous_id)
        if _field_named(properties):
            raise ValueError(f"refusing {sorted(properties)}")


def test_refusing_every_field_named_key_is_not_a_pass() -> None:
    """An SDK that refuses every such call is never checked: not-overridden-by-data is ERROR, not PASS."""
    result = run(_RefusesFieldNamedKeys, run_settings=SMALL)
    _assert_error(result, "server.ids.not-overridden-by-data", naming="never")


def test_a_field_named_call_that_raises_but_sends_fails() -> None:
    """A track that raises for a field-named property and still sends its event fails not-overridden-by-data."""
    result = run(_RefusesFieldNamedKeysButSends, run_settings=SMALL)
    _assert_verdict(result, "server.ids.not-overridden-by-data", Verdict.FAIL)


def test_not_overridden_by_data_counts_only_calls_with_a_field_named_key() -> None:
    """Plain server tracks are no checks of not-overridden-by-data; one with a 'distinct_id' property is."""
    collector = Collector()
    adapter = ReferenceAdapter(collector)
    harness = Harness(adapter, collector, get_profile("seed"))
    server = next(m for m in build_machines(harness) if m.machine_name == "server")
    state = server()
    server.track.body(state, name="e", properties={"plan": "pro"}, user_id="u1", anonymous_id=None)  # type: ignore[attr-defined]
    state.teardown()
    assert harness.checks["server.ids.not-overridden-by-data"] == 0
    state = server()
    server.track_with_field_named_key.body(state, name="e", field=["distinct_id", "intruder-id"],  # type: ignore[attr-defined]
                                           user_id="u1", anonymous_id="anon-a")  # fmt: skip
    state.teardown()
    assert harness.checks["server.ids.not-overridden-by-data"] == 1


# -- collector outages: told or silent -----------------------------------------------------------
class _DropsOnOutage(_Bent):
    """Drops a batch the collector fails, logging it at ``level`` on the SDK's own logger."""

    level = logging.WARNING

    def _deliver(self, events: list[Event]) -> None:
        try:
            super()._deliver(events)
        except DeliveryError as exc:
            logging.getLogger("acme_analytics.consumer").log(
                self.level, "dropped a batch of %d events: %s", len(events), exc)


class _DropsOnOutageLoggingDebug(_DropsOnOutage):
    level = logging.DEBUG


@pytest.fixture
def sdk_debug_logging() -> Any:
    """Let DEBUG records through the root logger, as an application's debug logging does."""
    root = logging.getLogger()
    before = root.level
    root.setLevel(logging.DEBUG)
    yield
    root.setLevel(before)


def test_a_batch_dropped_in_an_outage_with_a_logged_warning_is_told() -> None:
    """An SDK that drops what the collector failed but logs a WARNING told the caller: no violation."""
    result = run(_DropsOnOutage, run_settings=SMALL)
    verdicts = _verdicts(result)
    assert verdicts["delivery.outage.no-silent-loss"] is Verdict.PASS, result.results
    assert verdicts["delivery.exactly-once"] is Verdict.PASS


def test_a_batch_dropped_in_an_outage_with_only_a_debug_line_is_silent_loss(
    sdk_debug_logging: None,
) -> None:
    """A DEBUG line is not telling the caller: the lost events fail delivery.outage.no-silent-loss."""
    del sdk_debug_logging
    result = run(_DropsOnOutageLoggingDebug, run_settings=SMALL)
    _assert_verdict(result, "delivery.outage.no-silent-loss", Verdict.FAIL)
    failure = next(r for r in result.results if r.requirement == "delivery.outage.no-silent-loss")
    assert "no warning logged" in failure.violations[0].message


# -- identify with a context ------------------------------------------------------------------
class _IdentifyDropsContext(_Bent):
    """Declares identify-context but sends the identify without the caller's context."""

    def identify_with_context(self, *, user_id: str | None, anonymous_id: str | None, traits: Any,
                              context: Any) -> None:  # fmt: skip
        del context
        self.identify(user_id=user_id, anonymous_id=anonymous_id, traits=traits)


def test_an_identify_that_drops_the_callers_context_fails_context_as_given() -> None:
    """A context the identify call gave and the wire lacks is a FAIL of server.arguments.context-as-given."""
    result = run(_IdentifyDropsContext, run_settings=SMALL)
    _assert_verdict(result, "server.arguments.context-as-given", Verdict.FAIL)
    failure = next(r for r in result.results if r.requirement == "server.arguments.context-as-given")
    assert all(v.message.startswith("the event of step ") for v in failure.violations)
