"""The wrapper's functions over a real adapter: what reached the collector, per event.

:func:`check_end_to_end` builds one adapter around a fresh
:class:`~conformance.collector.store.Collector`, calls every LogEvent function of each
wrapper once (a client function on a fresh device, so nothing carries over), flushes, and
reads what arrived:

- ``wrapper.e2e.event-arrived``: the event arrived once, under its name, with the properties
  passed (an SDK may add its own);
- ``wrapper.e2e.identify-arrived-first``: for a client Identify event (or a server
  UpdateUserProperties event), an identify that arrived came before the event (an SDK that
  sends no identify, as Amplitude's ``setUserId``, is not blamed for that);
- ``wrapper.e2e.event-carries-user``: a client Identify event carries the user;
- ``wrapper.e2e.server-ids``: a server event, and its identify, carry the user id and, where
  the source enables it, the anonymous id the call passed.

Adapter calls here run without the engine's step timeout: use this for in-process adapters
and quick SDKs, and ``identity-conformance run`` for the SDK's own conformance.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from conformance._errors import AdapterFailedError
from conformance.adapters.protocol import AdapterFactory
from conformance.collector.store import Collector
from conformance.plans.model import Action, Event, Plan, Source
from conformance.plans.wrapper import ANONYMOUS, USER, Finding, sample, wrapper_source
from simulator import Event as Arrival
from simulator import Kind

T = TypeVar("T")

E2E_RULES = {
    "wrapper.e2e.event-arrived": "Over the adapter, each LogEvent event arrives once, under its name, with the properties passed.",
    "wrapper.e2e.identify-arrived-first": "Over the adapter, the identify a client Identify (or server UpdateUserProperties) event sends arrives before the event.",
    "wrapper.e2e.event-carries-user": "Over the adapter, a client Identify event carries the user it identified.",
    "wrapper.e2e.server-ids": "Over the adapter, a server event and its identify carry the ids its call passed.",
}
"""The end-to-end rules, as :data:`conformance.plans.wrapper.RULES` lists the others."""


def check_end_to_end(plan: Plan, wrappers: Sequence[object],
                     factory: AdapterFactory) -> tuple[list[Finding], list[str]]:  # fmt: skip
    """Findings from driving each wrapper's LogEvent functions over the adapter ``factory`` builds.

    Also returns the sources not driven because the adapter is not that kind of SDK (a client
    SDK for a server source, or the other way round).
    """
    collector = Collector()
    adapter = _sdk_call("building the adapter", factory, collector)
    findings: list[Finding] = []
    skipped: list[str] = []
    try:
        kind = adapter.info.kind
        for wrapper in wrappers:
            source = wrapper_source(plan, wrapper)
            if not (kind.client if source.is_client else kind.server):
                skipped.append(source.name)
                continue
            build = getattr(wrapper, source.class_name)
            for event in plan.events_for(source):
                if not event.has(Action.LOG_EVENT):
                    continue
                kwargs = {p.parameter: sample(p) for p in event.parameters}
                session = None
                if source.is_client:
                    session = adapter.open_client(f"plan-check-{source.name}-{event.function}")
                    if event.has(Action.IDENTIFY):
                        kwargs["user_id"] = USER
                    tracking = build(session)
                else:
                    kwargs["user_id"] = USER
                    if source.anonymous_user_id:
                        kwargs["anonymous_user_id"] = ANONYMOUS
                    tracking = build(adapter)
                try:
                    getattr(tracking, event.function)(**kwargs)
                except Exception as exc:  # noqa: BLE001  (a wrapper's failure is a finding)
                    findings.append(_found("wrapper.call.raised", source, event,
                                           f"over the adapter, raised {type(exc).__name__}: {exc}"))  # fmt: skip
                _sdk_call("flush()", adapter.flush)
                findings += _compare(event, source, kwargs, collector.drain())
                if session is not None:
                    session.close()
    finally:
        adapter.shutdown()
        collector.close()
    return findings, skipped


def _sdk_call(what: str, function: Callable[..., T], *args: Any) -> T:
    """``function(*args)``; an SDK's failure is an :class:`AdapterFailedError` (exit 2), not a finding."""
    try:
        return function(*args)
    except Exception as exc:
        msg = f"{what} raised {type(exc).__name__}: {exc}"
        raise AdapterFailedError(msg) from exc


def _found(rule: str, source: Source, event: Event, message: str) -> Finding:
    return Finding(rule, source.name, event.name, message)


def _carries(arrival: Arrival, user: str) -> bool:
    return user in {arrival.user_id, arrival.distinct_id}


def _compare(event: Event, source: Source, kwargs: dict[str, Any], arrived: list[Arrival]) -> list[Finding]:
    shown = ", ".join(repr(a) for a in arrived) or "nothing"
    tracks = [i for i, a in enumerate(arrived) if a.kind is Kind.TRACK and a.name == event.name]
    if len(tracks) != 1:
        return [_found("wrapper.e2e.event-arrived", source, event,
                       f"expected one track {event.name!r} to arrive; arrived: {shown}")]  # fmt: skip
    track = arrived[tracks[0]]
    sent = {p.name: kwargs[p.parameter] for p in event.properties}
    lost = {k: v for k, v in sent.items() if track.properties.get(k, object()) != v}
    out = []
    if lost:
        out.append(_found("wrapper.e2e.event-arrived", source, event,
                          f"the event arrived without the properties {lost!r} as passed: {track!r}"))  # fmt: skip
    if source.is_client and event.has(Action.IDENTIFY):
        late = [i for i, a in enumerate(arrived) if a.kind is Kind.IDENTIFY and _carries(a, USER) and i > tracks[0]]
        if late:
            out.append(_found("wrapper.e2e.identify-arrived-first", source, event,
                              f"the identify arrived after the event; arrived: {shown}"))  # fmt: skip
        if not _carries(track, USER):
            out.append(_found("wrapper.e2e.event-carries-user", source, event,
                              f"the event arrived without the user {USER!r}: {track!r}"))  # fmt: skip
    if not source.is_client:
        wanted = f"user {USER!r}" + (f" and anonymous id {ANONYMOUS!r}" if source.anonymous_user_id else "")
        if not _server_ids(track, source):
            out.append(_found("wrapper.e2e.server-ids", source, event,
                              f"the event arrived without the {wanted} the call passed: {track!r}"))  # fmt: skip
        identifies = [i for i, a in enumerate(arrived) if a.kind is Kind.IDENTIFY]
        if event.identifies_on(source) and identifies:
            if identifies[0] > tracks[0]:
                out.append(_found("wrapper.e2e.identify-arrived-first", source, event,
                                  f"the identify with the user properties arrived after the event; arrived: {shown}"))  # fmt: skip
            if not _server_ids(arrived[identifies[0]], source):
                out.append(_found("wrapper.e2e.server-ids", source, event,
                                  f"the identify arrived without the {wanted} the call passed: {arrived[identifies[0]]!r}"))  # fmt: skip
    return out


def _server_ids(arrival: Arrival, source: Source) -> bool:
    anonymous_ok = (not source.anonymous_user_id
                    or ANONYMOUS in {arrival.anonymous_id, arrival.device_id, arrival.distinct_id})  # fmt: skip
    return _carries(arrival, USER) and anonymous_ok
