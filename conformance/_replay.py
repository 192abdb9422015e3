"""Replay a recorded step sequence (a JSON trace) against an adapter, without Hypothesis."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from conformance._adapter import AdapterFactory
from conformance._collector import Collector
from conformance._engine import check_adapter
from conformance._errors import InvalidInputError, describe
from conformance._harness import Harness
from conformance._machine import build_machines
from conformance._registry import load_adapter
from conformance._violations import ConformanceFailure, Violation
from simulator import get_profile


def replay(
    adapter: str | AdapterFactory,
    steps: Sequence[tuple[str, dict[str, Any]] | dict[str, Any]],
    *,
    profile: str | None = None,
    machine: str = "client",
) -> list[Violation]:
    """Run ``steps`` on a fresh machine and return every violation they show."""
    factory = load_adapter(adapter) if isinstance(adapter, str) else adapter
    collector = Collector()
    sdk = check_adapter(factory(collector), factory)
    harness = Harness(sdk, collector, get_profile(profile or sdk.info.profile))
    classes = {cls.machine_name: cls for cls in build_machines(harness)}
    if machine not in classes:
        msg = f"machine {describe(machine)} does not apply to adapter {sdk.info.name!r}; use one of {sorted(classes)}."
        raise InvalidInputError(msg)
    state = classes[machine]()
    found: list[Violation] = []
    try:
        for step in steps:
            rule, args = (step["rule"], step["args"]) if isinstance(step, dict) else step
            method = getattr(state, rule, None)
            if method is None or not hasattr(method, "hypothesis_stateful_rule"):
                msg = f"unknown rule {describe(rule)} for the {machine} machine of {sdk.info.name!r}."
                raise InvalidInputError(msg)
            body = getattr(method, "body", None)  # a drawn_rule: call it with its arguments
            try:
                if body is not None:
                    body(state, **args)
                else:
                    method(**args)
            except ConformanceFailure as failure:
                found.extend(failure.violations)
        try:
            state.teardown()
        except ConformanceFailure as failure:
            found.extend(failure.violations)
    finally:
        harness.close()
        sdk.shutdown()
    return found
