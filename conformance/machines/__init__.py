"""The Hypothesis state machines, their input strategies and the structured violations they raise.

``build_machines`` gives the machine classes that apply to an adapter (client and/or
server, with only the rules its capabilities allow); ``run_machine`` runs one under
Hypothesis. Layout: ``base.py`` (drawn rules, trace, flush window, delivery checks),
``client.py``/``server.py`` (rules), ``client_checks.py``/``server_checks.py`` (each
family's ledger and checks), ``strategies.py`` (input pools).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, cast

import hypothesis
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule, run_state_machine_as_test

from conformance.adapters.protocol import CALL_OPTIONS
from conformance.engine.harness import Harness
from conformance.machines import strategies as gen
from conformance.machines.base import (
    EXAMPLE_STRIDE,
    PROBE_EVENT,
    BaseMachine,
    drawn_rule,
    step_number,
)
from conformance.machines.client import ClientMachine
from conformance.machines.server import ServerMachine
from simulator import IdentifyEmits

__all__ = [
    "EXAMPLE_STRIDE", "PROBE_EVENT", "BaseMachine", "ClientMachine", "ServerMachine",
    "build_machines", "drawn_rule", "requirement_applies", "run_machine", "step_number",
]  # fmt: skip


def build_machines(harness: Harness) -> list[type[BaseMachine]]:
    """The machine classes that apply to the harness's adapter, with only its capable rules."""
    info = harness.info
    caps = info.capabilities
    machines: list[type[BaseMachine]] = []
    if info.kind.client:
        ns: dict[str, Any] = {"harness": harness}
        if "reset" in caps:
            ns["reset"] = drawn_rule(device=gen.DEVICE_POOL)(ClientMachine._reset)  # noqa: SLF001
        if "persistence" in caps:
            ns["reopen"] = drawn_rule(device=gen.DEVICE_POOL)(ClientMachine._reopen)  # noqa: SLF001
        if "alias" in caps and harness.profile.alias_supported:
            ns["alias"] = drawn_rule(device=gen.DEVICE_POOL, new_id=gen.USER_POOL)(ClientMachine._alias)  # noqa: SLF001
        if "retries" in caps:
            ns["lose_next_delivery_ack"] = drawn_rule(fault=gen.LOST_ACK_POOL)(ClientMachine._lose_ack)  # noqa: SLF001
        machines.append(type("ClientMachine", (ClientMachine,), ns))
    if info.kind.server:
        ns = {"harness": harness}
        if "identify" in caps:
            ns["identify"] = drawn_rule(user_id=gen.USER_OR_NONE_POOL,
                                        anonymous_id=gen.ANONYMOUS_ID_OR_NONE_POOL,
                                        traits=gen.TRAIT_POOL)(ServerMachine._identify)  # noqa: SLF001
        if "identify-context" in caps:
            ns["identify_with_context"] = drawn_rule(
                context=gen.IDENTIFY_CONTEXT_POOL, user_id=gen.USER_OR_NONE_POOL,
                anonymous_id=gen.ANONYMOUS_ID_OR_NONE_POOL, traits=gen.TRAIT_POOL,
            )(ServerMachine._identify_with_context)  # noqa: SLF001
        if "threads" in caps:
            ns["concurrent_calls"] = drawn_rule(count=gen.THREAD_COUNT_POOL)(ServerMachine._threads)  # noqa: SLF001
        if "asyncio-tasks" in caps:
            ns["concurrent_tasks"] = drawn_rule(count=gen.THREAD_COUNT_POOL)(ServerMachine._tasks)  # noqa: SLF001
        if "retries" in caps:
            ns["lose_next_delivery_ack"] = drawn_rule(fault=gen.LOST_ACK_POOL)(ServerMachine._lose_ack)  # noqa: SLF001
        # One outage or late answer per example: SDKs back off, or wait out a timeout, for seconds.
        once_per_example = precondition(lambda self: not self.had_outage)
        ns["track_during_outage"] = once_per_example(drawn_rule(
            faults=gen.OUTAGE_POOL if info.request_timeout is None else gen.SLOW_OUTAGE_POOL,
            user_id=gen.USER_OR_NONE_POOL, anonymous_id=gen.ANONYMOUS_ID_POOL, name=gen.NAME_POOL,
        )(ServerMachine.track_during_outage))
        if "retries" in caps and info.request_timeout is not None:
            ns["answer_next_delivery_late"] = once_per_example(rule()(ServerMachine._answer_late))  # noqa: SLF001
        if caps & CALL_OPTIONS.keys():
            # The options come first: the first fields are the index's low digits, which vary
            # evenly; a last field is mostly its pool's first value (None here).
            ns["track_with_options"] = drawn_rule(
                context=gen.CONTEXT_POOL, message_id=gen.MESSAGE_ID_POOL, timestamp=gen.TIMESTAMP_POOL,
                user_id=gen.USER_OR_NONE_POOL, anonymous_id=gen.ANONYMOUS_ID_POOL, name=gen.NAME_POOL,
            )(ServerMachine._track_with_options)  # noqa: SLF001
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

    # The example database keys examples by a digest of the factory: name the machine in it,
    # or every machine would share one key (Hypothesis's hook for parametrized tests).
    new_machine._hypothesis_internal_add_digest = (  # type: ignore[attr-defined]  # noqa: SLF001
        f"{machine.__module__}.{machine.__qualname__}".encode())
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
    if requirement_id == "delivery.outage.no-silent-loss" and not info.kind.server:
        return "collector outages are staged by the server machine only, so far"
    if requirement_id == "delivery.order.per-client" and not profile.ordered_delivery:
        return f"profile {profile.name!r} does not promise order"
    return None
