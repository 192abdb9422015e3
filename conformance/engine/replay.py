"""Replay a recorded step sequence (a JSON trace) against an adapter, without Hypothesis."""

from __future__ import annotations

import copy
import inspect
import types
import typing
from collections.abc import Callable, Sequence
from typing import Any

from conformance._errors import InvalidInputError, describe
from conformance._violations import ConformanceFailure, Violation
from conformance.adapters.catalogue import load_adapter
from conformance.adapters.protocol import AdapterFactory
from conformance.collector.store import Collector
from conformance.engine.harness import Harness
from conformance.engine.run import check_adapter
from conformance.machines import build_machines
from simulator import get_profile


def replay(
    adapter: str | AdapterFactory,
    steps: Sequence[tuple[str, dict[str, Any]] | dict[str, Any]],
    *,
    profile: str | None = None,
    machine: str = "client",
) -> list[Violation]:
    """Run ``steps`` on a fresh machine and return every violation they show.

    Every step is checked against its rule's signature before the first one runs: an
    unknown rule, an unknown or missing argument, or a value of the wrong type raises
    :class:`InvalidInputError` naming the step index, the argument and the value.
    """
    session = ReplaySession(adapter, profile=profile)
    try:
        return session.replay(steps, machine=machine)
    finally:
        session.close()


class ReplaySession:
    """One adapter and collector for many replays, each a new example (as in a run).

    The minimizer replays a trace dozens of times; starting the adapter once (a child
    process, a browser) instead of once per replay is what makes that affordable.
    """

    def __init__(self, adapter: str | AdapterFactory, *, profile: str | None = None,
                 collector: Collector | None = None) -> None:  # fmt: skip
        factory = load_adapter(adapter) if isinstance(adapter, str) else adapter
        self.collector = Collector() if collector is None else collector
        self.sdk = check_adapter(factory(self.collector), factory)
        try:
            self.harness = Harness(self.sdk, self.collector, get_profile(profile or self.sdk.info.profile))
            self.classes = {cls.machine_name: cls for cls in build_machines(self.harness)}
        except BaseException:
            self.sdk.shutdown()
            raise

    def replay(self, steps: Sequence[tuple[str, dict[str, Any]] | dict[str, Any]], *,
               machine: str = "client") -> list[Violation]:  # fmt: skip
        """Run ``steps`` as one new example; every violation they show."""
        if not isinstance(machine, str):
            msg = f"machine must be a machine name such as 'client' or 'server' (got {describe(machine)})."
            raise InvalidInputError(msg)
        if not isinstance(steps, (list, tuple)):
            msg = f"steps must be a list of {{'rule': NAME, 'args': {{...}}}} objects (got {describe(steps)[:200]})."
            raise InvalidInputError(msg)
        if machine not in self.classes:
            msg = (f"machine {describe(machine)} does not apply to adapter {self.sdk.info.name!r}; "
                   f"use one of {sorted(self.classes)}.")  # fmt: skip
            raise InvalidInputError(msg)
        found: list[Violation] = []
        state = self.classes[machine]()
        # Entries a step or teardown made itself ("made_by") are made again by replaying it.
        calls = [_checked_step(state, i, step, machine, self.sdk.info.name) for i, step in enumerate(steps)
                 if not (isinstance(step, dict) and step.get("made_by"))]  # fmt: skip
        for call, args in calls:
            try:
                call(**copy.deepcopy(args))  # an SDK that writes into what it is given must not rewrite the steps
            except ConformanceFailure as failure:  # noqa: PERF203  (each step's violations count)
                found.extend(failure.violations)
        try:
            state.teardown()
        except ConformanceFailure as failure:
            found.extend(failure.violations)
        return found

    def close(self) -> None:
        """Shut the adapter down and let the harness's threads end."""
        try:
            self.harness.close()
        finally:
            self.sdk.shutdown()


def _checked_step(state: Any, index: int, step: object, machine: str,
                  adapter: str) -> tuple[Callable[..., None], dict[str, Any]]:  # fmt: skip
    """The call for one step, after checking its rule and arguments; raise naming the problem."""
    if isinstance(step, dict):
        rule, args = step.get("rule"), step.get("args", {})
    elif isinstance(step, (list, tuple)) and len(step) == 2:
        rule, args = step
    else:
        msg = f"step {index} must be {{'rule': NAME, 'args': {{...}}}} (got {describe(step)[:200]})."
        raise InvalidInputError(msg)
    method = getattr(state, rule, None) if isinstance(rule, str) else None
    if method is None or not hasattr(method, "hypothesis_stateful_rule"):
        msg = f"step {index}: unknown rule {describe(rule)} for the {machine} machine of {adapter!r}."
        raise InvalidInputError(msg)
    if not isinstance(args, dict):
        msg = f"step {index} ({rule}): 'args' must be an object of keyword arguments (got {describe(args)[:200]})."
        raise InvalidInputError(msg)
    body = getattr(method, "body", None)  # a drawn_rule: call it with its arguments
    function = body if body is not None else method
    params = list(inspect.signature(function).parameters.values())
    if body is not None:
        params = params[1:]  # self
    hints = typing.get_type_hints(function)
    names = {p.name for p in params}
    for name, value in args.items():
        if name not in names:
            msg = (f"step {index} ({rule}): unknown argument {name!r} = {describe(value)[:200]}; "
                   f"the rule takes {sorted(names) or 'no arguments'}.")  # fmt: skip
            raise InvalidInputError(msg)
        hint = hints.get(name, Any)
        if not _matches(value, hint):
            msg = (f"step {index} ({rule}): argument {name!r} must be {_show(hint)} (got "
                   f"{describe(value)[:200]}).")  # fmt: skip
            raise InvalidInputError(msg)
    missing = [p.name for p in params if p.default is inspect.Parameter.empty and p.name not in args]
    if missing:
        msg = f"step {index} ({rule}): missing argument(s) {missing}."
        raise InvalidInputError(msg)
    if body is not None:
        return (lambda **kwargs: body(state, **kwargs)), args
    return method, args


def _matches(value: object, hint: Any) -> bool:  # noqa: PLR0911  (one answer per kind of hint)
    """Whether a JSON value fits a rule's annotation (bool is not an int here)."""
    origin = typing.get_origin(hint)
    if hint is Any:
        return True
    if origin is typing.Union or origin is types.UnionType:
        return any(_matches(value, arg) for arg in typing.get_args(hint))
    if hint is None or hint is type(None):
        return value is None
    cls = origin if origin is not None else hint
    if not isinstance(cls, type):
        return True  # an annotation this check does not model: the rule body decides
    if cls in (int, float) and isinstance(value, bool):
        return False
    if cls is float:
        return isinstance(value, (int, float))
    return isinstance(value, cls)


def _show(hint: Any) -> str:
    if hint is type(None):
        return "None"
    if isinstance(hint, type):
        return hint.__name__
    return str(hint).replace("typing.", "")
