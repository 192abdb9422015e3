"""The server machine: stateless calls with user id only, anonymous id only, both, and neither."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime
from typing import Any, cast

from conformance._errors import StepTimeoutError
from conformance.adapters.protocol import (
    AsyncTrackAdapter,
    CallOptionsAdapter,
    IdentifyContextAdapter,
)
from conformance.collector.store import SLOW_ANSWER_MARGIN
from conformance.machines import strategies as gen
from conformance.machines.base import drawn_rule
from conformance.machines.server_checks import ServerChecks, difference
from simulator import epoch_ms, snapshot


class ServerMachine(ServerChecks):
    """Stateless server calls: user id only, anonymous id only, both, and neither."""

    covers = frozenset({"server", "delivery"})
    """The requirement scopes this machine's checks decide (its error reaches them)."""
    machine_name = "server"

    def __init__(self) -> None:
        super().__init__()
        self.shared: dict[str, Any] = {"plan": "free", "items": [1]}
        self.had_outage = False
        self.shared_context: dict[str, Any] = {"ip": "198.51.100.23", "locale": "en-US",
                                               "page": {"path": "/pricing"}}  # fmt: skip

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

    @drawn_rule(user_id=gen.REAL_USER_OR_NONE_POOL, anonymous_id=gen.REAL_ANONYMOUS_ID_OR_NONE_POOL,
                name=gen.NAME_POOL, properties=gen.PROPERTY_POOL)  # fmt: skip
    def track_real_world_ids(self, name: str, properties: dict[str, Any], user_id: str | None,
                             anonymous_id: str | None) -> None:  # fmt: skip
        """Server track with ids as real systems send them (emails, UUIDs, '007', ' x ', 1 KB+)."""
        if user_id is None and anonymous_id is None:
            anonymous_id = gen.SERVER_ANONYMOUS_IDS[-1]
        seq = self._record("track_real_world_ids", name=name, properties=properties, user_id=user_id,
                           anonymous_id=anonymous_id)  # fmt: skip
        self._server_track(seq, name, properties, user_id, anonymous_id)

    def _server_track(self, seq: int, name: str, properties: dict[str, Any], user_id: str | None,
                      anonymous_id: str | None, *, refusable: bool = False,
                      options: dict[str, Any] | None = None) -> None:  # fmt: skip
        """Track through the model and the SDK, then check the caller's dict is unchanged.

        ``refusable``: the SDK may refuse the call with an error (then nothing may arrive),
        as it may for caller data it cannot send as given; otherwise an error is an ERROR.
        ``options``: keyword arguments for ``track_with_options`` (then it is the SDK call).
        """
        marked = f"{name}{gen.MARKER}{self.mark(seq)}"
        before = dict(snapshot(properties))  # read-only from here on: shared by both uses
        if refusable:
            self.refusable_in_window = True
            refusal = self.h.attempt("track()", self.h.adapter.track, marked, properties,
                                     user_id=user_id, anonymous_id=anonymous_id)  # fmt: skip
            if refusal is not None:
                self.window_calls[seq] = {"refused": True, "refusal": repr(refusal)}
                return
        self.first_call = min(self.first_call, seq)
        self.calls[seq] = {"kind": "track", "properties": before, **self._ids(user_id, anonymous_id)}
        self._model_call(seq, lambda: self.model.server.track(
            marked, properties, user_id=user_id, anonymous_id=anonymous_id))
        if options is not None:
            sdk = cast("CallOptionsAdapter", self.h.adapter)
            self.h.call("track_with_options()", sdk.track_with_options, marked, properties,
                        user_id=user_id, anonymous_id=anonymous_id, **options)  # fmt: skip
        elif not refusable:
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

    @drawn_rule(user_id=gen.USER_OR_NONE_POOL, anonymous_id=gen.ANONYMOUS_ID_POOL, name=gen.NAME_POOL,
                field=gen.SDK_FIELD_POOL)  # fmt: skip
    def track_with_field_named_key(self, name: str, field: list[Any], user_id: str | None,
                                   anonymous_id: str) -> None:  # fmt: skip
        """Track with a property named like an SDK field (``time``, ``distinct_id``, ``token``...).

        ``field`` is ``[key, value]``. The SDK may refuse such a call with an error.
        """
        properties = {field[0]: field[1], "plan": "pro"}
        seq = self._record("track_with_field_named_key", name=name, field=field,
                           user_id=user_id, anonymous_id=anonymous_id)  # fmt: skip
        self._server_track(seq, name, properties, user_id, anonymous_id, refusable=True)

    def track_during_outage(self, faults: list[str], name: str, user_id: str | None,
                            anonymous_id: str) -> None:  # fmt: skip
        """Track while the collector fails its next deliveries, then flush, let it recover, flush again.

        ``faults`` are the failed deliveries' answers, in order (``503``, ``429`` with
        ``Retry-After``, ``disconnect``, ``slow``: a 503 only after the SDK's declared request
        timeout...). The call may raise: then the caller knows, and its event may not arrive.
        Whatever else the window held must arrive, unless the SDK told the caller (an error
        from flush, a warning logged). A rule once ``build_machines`` draws it, once per
        example, from the adapter's outage pool: SDKs back off, or wait out their timeout,
        for seconds. (It keeps its rule name: Hypothesis's rule choice depends on the names.)
        """
        seq = self._record("track_during_outage", faults=faults, name=name, user_id=user_id,
                           anonymous_id=anonymous_id)  # fmt: skip
        self.had_outage = True
        self._begin_outage(faults, answer_after=self._slow_answer_after())
        try:
            self._server_track(seq, name, {"plan": "pro"}, user_id, anonymous_id, refusable=True)
            self._flush_and_check()
        finally:
            self._end_outage()

    def _track_with_options(self, name: str, user_id: str | None, anonymous_id: str,
                            timestamp: str | None, message_id: str | None, context: Any) -> None:  # fmt: skip
        """Track with what applications pass beside the data: a timestamp, a message id, a context.

        Each is given only when drawn and when the adapter declares it (capabilities
        ``timestamp``, ``message-id``, ``context``). A ``"shared"`` context is the machine's
        one context dict, which the caller changes after each call, as code that keeps a
        request's context around does.
        """
        seq = self._record("track_with_options", name=name, user_id=user_id, anonymous_id=anonymous_id,
                           timestamp=timestamp, message_id=message_id, context=context)  # fmt: skip
        caps = self.h.info.capabilities
        options: dict[str, Any] = {}
        given: dict[str, Any] = {}
        if timestamp is not None and "timestamp" in caps:
            options["timestamp"] = moment = datetime.fromisoformat(timestamp)
            given["timestamp"] = epoch_ms(moment)
        if message_id is not None and "message-id" in caps:
            options["message_id"] = given["message_id"] = gen.message_id(message_id, self.mark(seq))
        if context is not None and "context" in caps:
            options["context"] = self.shared_context if context == gen.SHARED_CONTEXT else context
            given["context"] = dict(snapshot(options["context"]))
        self._server_track(seq, name, {"plan": "pro"}, user_id, anonymous_id, options=options)
        self.calls[seq]["given"] = given
        if "context" in options:
            self._check("server.arguments.not-retained")
            if options["context"] != given["context"]:
                self.sdk_context_keys |= options["context"].keys() - given["context"].keys()
                self._violate("server.arguments.not-retained",
                              f"track_with_options (step {seq}) changed the context dict the caller passed "
                              f"({difference('context', given['context'], options['context'])})",
                              expected=given["context"], observed=dict(snapshot(options["context"])), step=seq)  # fmt: skip
        if context == gen.SHARED_CONTEXT:  # the caller moves on to its next request
            self.shared_context["ip"] = f"198.51.100.{seq % 250}"
            page = self.shared_context.get("page")
            if isinstance(page, dict):
                page["path"] = f"/step/{seq}"

    def _identify(self, user_id: str | None, anonymous_id: str | None,
                 traits: dict[str, Any]) -> None:  # fmt: skip
        """Server identify; it must change nothing for later calls."""
        if user_id is None and anonymous_id is None:
            user_id = gen.USERS[0]
        seq = self._record("identify", user_id=user_id, anonymous_id=anonymous_id, traits=traits)
        self._identify_call(seq, user_id, anonymous_id, traits, None)

    def _identify_with_context(self, context: Any, user_id: str | None, anonymous_id: str | None,
                               traits: dict[str, Any]) -> None:  # fmt: skip
        """Server identify with the caller's context dict: fresh, or the one reused and changed between calls.

        The context must arrive as given on the identify event, stay as the caller left it,
        and ride on no other call.
        """
        if user_id is None and anonymous_id is None:
            user_id = gen.USERS[0]
        seq = self._record("identify_with_context", context=context, user_id=user_id,
                           anonymous_id=anonymous_id, traits=traits)  # fmt: skip
        passed = None if context is None else self.shared_context if context == gen.SHARED_CONTEXT else context
        self._identify_call(seq, user_id, anonymous_id, traits, passed)
        if context == gen.SHARED_CONTEXT:  # the caller moves on to its next request
            self.shared_context["ip"] = f"198.51.100.{seq % 250}"

    def _identify_call(self, seq: int, user_id: str | None, anonymous_id: str | None,
                       traits: dict[str, Any], context: dict[str, Any] | None) -> None:  # fmt: skip
        """Identify through the model and the SDK (with ``context`` when not None), then check the caller's dicts."""
        marked = {**traits, gen.TRAIT_MARKER: self.mark(seq)}
        self.first_call, self.first_identify = min(self.first_call, seq), min(self.first_identify, seq)
        self.calls[seq] = {"kind": "identify", "traits": dict(traits),
                           **self._ids(user_id, anonymous_id)}  # fmt: skip
        self._model_call(seq, lambda: self.model.server.identify(
            user_id, marked, anonymous_id=anonymous_id))
        passed = dict(snapshot(marked))
        if context is None:
            self.h.call("identify()", self.h.adapter.identify, user_id=user_id,
                        anonymous_id=anonymous_id, traits=marked)  # fmt: skip
        else:
            given = dict(snapshot(context))
            self.calls[seq]["given"] = {"context": given}
            sdk = cast("IdentifyContextAdapter", self.h.adapter)
            self.h.call("identify_with_context()", sdk.identify_with_context, user_id=user_id,
                        anonymous_id=anonymous_id, traits=marked, context=context)  # fmt: skip
            self._check("server.arguments.not-retained")
            if context != given:
                self.sdk_context_keys |= context.keys() - given.keys()
                self._violate("server.arguments.not-retained",
                              f"identify_with_context (step {seq}) changed the context dict the caller passed "
                              f"({difference('context', given, context)})",
                              expected=given, observed=dict(snapshot(context)), step=seq)  # fmt: skip
        self._check("server.arguments.not-retained")
        if marked != passed:
            self._violate("server.arguments.not-retained",
                          f"identify (step {seq}) changed the traits dict the caller passed",
                          expected=passed, observed=dict(snapshot(marked)), step=seq)

    @drawn_rule(name=gen.NAME_POOL, user_id=gen.NO_ID_POOL, anonymous_id=gen.NO_ID_POOL)
    def track_without_ids(self, name: str, user_id: str | None = None,
                          anonymous_id: str | None = None) -> None:  # fmt: skip
        """A call with neither id (None or "") must be refused with an error, and nothing sent."""
        seq = self._record("track_without_ids", name=name, user_id=user_id, anonymous_id=anonymous_id)
        self._check("server.ids.at-least-one")
        self.window_calls[seq] = {"refused": True}
        refusal = self.h.attempt(f"track(user_id={user_id!r}, anonymous_id={anonymous_id!r})",
                                 self.h.adapter.track, f"{name}{gen.MARKER}{self.mark(seq)}", {},
                                 user_id=user_id, anonymous_id=anonymous_id)  # fmt: skip
        if refusal is not None:
            return
        self._violate("server.ids.at-least-one",
                      f"track(user_id={user_id!r}, anonymous_id={anonymous_id!r}) (step {seq}), "
                      "which names no id, was accepted",
                      expected="an exception", observed="returned normally", step=seq)

    def _threads(self, count: int) -> None:
        """``count`` threads at one barrier each track with ids of their own (capability ``threads``)."""
        self._concurrent("concurrent_calls", count)

    def _tasks(self, count: int) -> None:
        """``count`` asyncio tasks on one event loop each track with ids of their own (capability ``asyncio-tasks``).

        Each task is one async request handler: ``track_async`` may await between setting its
        call's identity and the call, so the tasks interleave there. Each event must carry only
        its own task's ids, as with threads.
        """
        self._concurrent("concurrent_tasks", count, tasks=True)

    def _concurrent(self, rule_name: str, count: int, *, tasks: bool = False) -> None:
        self._record(rule_name, count=count)
        name = "in-task" if tasks else "threaded"
        calls = []
        for i in range(count):
            user, anon = f"u-{'task' if tasks else 'thread'}-{i}", f"anon-{'task' if tasks else 'thread'}-{i}"
            sub = self._note("track", rule_name, name=name, user_id=user, anonymous_id=anon,
                             **{"task" if tasks else "thread": i})  # fmt: skip
            self.threaded.add(sub)
            calls.append((sub, user, anon))
        self.first_call = min(self.first_call, calls[0][0]) if calls else self.first_call
        for sub, user, anon in calls:
            self.calls[sub] = {"kind": "track", "properties": {"thread": sub},
                               **self._ids(user, anon)}  # fmt: skip
            self._model_call(sub, lambda sub=sub, user=user, anon=anon: self.model.server.track(
                f"{name}{gen.MARKER}{self.mark(sub)}", {"thread": sub}, user_id=user, anonymous_id=anon))
        adapter = self.h.adapter

        def job(sub: int, user: str, anon: str) -> Callable[[], None]:
            def call() -> None:
                adapter.track(f"{name}{gen.MARKER}{self.mark(sub)}", {"thread": sub}, user_id=user, anonymous_id=anon)

            return call

        def all_tasks() -> None:
            async def gathered() -> None:
                track_async = cast("AsyncTrackAdapter", adapter).track_async
                await asyncio.gather(*(track_async(f"{name}{gen.MARKER}{self.mark(sub)}", {"thread": sub},
                                                   user_id=user, anonymous_id=anon) for sub, user, anon in calls))  # fmt: skip

            asyncio.run(gathered())

        # Threads start the calls together, at one barrier; tasks share one worker's event loop.
        jobs = [all_tasks] if tasks else [job(*c) for c in calls]
        errors = self.h.workers.run(jobs, self.h.step_timeout)
        self._check("server.threads.isolated")
        what = "asyncio tasks" if tasks else "track calls"
        if errors is None:
            msg = (f"concurrent {what} (step {self.seq}) did not return within "
                   f"{self.h.step_timeout:g} s (per-step timeout)")  # fmt: skip
            self.h.last_adapter_error = self.h.last_adapter_error or msg
            raise StepTimeoutError(msg)
        if errors:  # recorded as the round's adapter error, so a flaky replay stays an ERROR
            raise self.h.failure(f"concurrent {what} (step {self.seq})", errors[0])

    def _lose_ack(self, fault: str = "503") -> None:
        """The collector records the next delivery and answers it as ``fault`` (a 503, or a 200 no SDK can read)."""
        self._record("lose_next_delivery_ack", fault=fault)
        self.h.collector.fail_next(1, fault)
        self.fault_armed = True

    def _answer_late(self) -> None:
        """The collector records the next delivery and sends its 200 just after the SDK's request timeout.

        The SDK cannot know the data arrived: it resends with the same message ids, or tells
        the caller. Once per example, sharing ``track_during_outage``'s turn: each costs the
        SDK's whole timeout.
        """
        self._record("answer_next_delivery_late")
        self.had_outage = True
        self.h.collector.fail_next(1, "slow", answer_after=self._slow_answer_after())
        self.fault_armed = True

    def _slow_answer_after(self) -> float | None:
        """How late a ``slow`` fault answers: just past the SDK's declared request timeout."""
        timeout = self.h.info.request_timeout
        return None if timeout is None else timeout + SLOW_ANSWER_MARGIN
