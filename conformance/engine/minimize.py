"""Minimal reproducers: drop every step whose removal still reproduces the finding.

Hypothesis shrinks the choices that generate an example, which leaves steps that change
nothing (a flush with nothing pending, a second reopen) whenever removing them does not
shorten the choice sequence; without shrinking (``--no-shrink``, for slow adapters) the
trace is as generated. After a failure the engine replays the trace without chunks of
steps, on a fresh adapter, and keeps a removal when the same requirement still fails.
Steps a rule made itself (``made_by``) go and come with their maker. The pass is bounded
in replays and seconds, so a slow SDK costs at most the budget.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Collection
from typing import Any

from conformance._violations import Violation
from conformance.adapters.protocol import AdapterFactory

MAX_REPLAYS = 60
MIN_SECONDS = 5.0
MAX_SECONDS = 30.0
"""The time budget is ten first replays, within these bounds: a slow adapter (a child
process, a browser) gets more time than an in-process one, never unbounded."""
MAX_STEPS = 60
"""Longer traces are left as Hypothesis shrank them."""
RACE_REPLAYS = 10
"""Replays of a reproducer that makes concurrent calls: a race comes and goes, so the report
says how often it came back (within ``MAX_SECONDS``)."""
CONCURRENT_RULES = frozenset({"concurrent_calls"})


def minimize(
    factory: AdapterFactory,
    trace: dict[str, Any],
    requirements: Collection[str],
) -> tuple[dict[str, Any], list[Violation]] | None:
    """A shorter trace (or the trace itself) still breaking one of ``requirements``, and its violations.

    The violations are those a fresh adapter shows for it. ``None`` when the trace does not reproduce on a fresh adapter (state carried across
    examples inside a long-lived SDK) or when it is too long.
    Removal is tried in chunks (halves, quarters, ... single steps), so a finding that
    needs a few steps of a long trace costs a logarithmic number of replays; all of them
    run on one adapter, started once, each as a new example.
    """
    from conformance.engine.replay import ReplaySession  # noqa: PLC0415  (replay imports the run loop)

    steps: list[dict[str, Any]] = list(trace["steps"])
    if not steps or len(steps) > MAX_STEPS:
        return None
    wanted = set(requirements)
    try:
        session = ReplaySession(factory, profile=trace["profile"])
    except Exception:  # noqa: BLE001  (an adapter that cannot start again reproduces nothing)
        return None
    try:
        shorter = _minimize(session, trace, steps, wanted)
    finally:
        with contextlib.suppress(Exception):  # the finding stands whatever shutdown does
            session.close()
    # Nothing could go (or the session did not show it): the trace as it is, if a fresh
    # adapter shows it. The violations reported are those of a replay on a fresh adapter,
    # which is what the user's replay of the reproducer gives (generated ids included).
    shorter = shorter or dict(trace)
    again = _fresh_replay(factory, shorter)
    return (shorter, again) if again is not None and any(v.requirement in wanted for v in again) else None


def _fresh_replay(factory: AdapterFactory, trace: dict[str, Any]) -> list[Violation] | None:
    from conformance.engine.replay import replay  # noqa: PLC0415  (replay imports the run loop)

    try:
        return replay(factory, trace["steps"], profile=trace["profile"], machine=trace["machine"])
    except Exception:  # noqa: BLE001  (a trace that cannot run again reproduces nothing)
        return None


def _units(steps: list[dict[str, Any]]) -> list[list[dict[str, Any]]]:
    """The steps in removable units: a drawn step with the calls it made; made_by steps alone stay."""
    units: list[list[dict[str, Any]]] = []
    for step in steps:
        made_by = step.get("made_by")
        if made_by and made_by != "teardown" and units:
            units[-1].append(step)  # the calls this step made go with it
        else:
            units.append([step])
    return units


def _minimize(session: Any, trace: dict[str, Any], steps: list[dict[str, Any]],
              wanted: set[str]) -> dict[str, Any] | None:  # fmt: skip
    replays = 0

    def breaks(candidate: list[dict[str, Any]]) -> list[Violation] | None:
        nonlocal replays
        replays += 1
        try:
            found = session.replay(candidate, machine=trace["machine"])
        except Exception:  # noqa: BLE001  (a candidate that cannot run is not a reproducer)
            return None
        return found if any(v.requirement in wanted for v in found) else None

    started = time.monotonic()
    if breaks(steps) is None:
        return None
    first = time.monotonic() - started
    deadline = started + min(MAX_SECONDS, max(MIN_SECONDS, 10 * first))
    units = _units(steps)
    removed = False
    size = max(1, len(units) // 2)
    while size >= 1:
        index = 0
        while index < len(units) and replays < MAX_REPLAYS and time.monotonic() < deadline:
            chunk = units[index:index + size]
            if all(u[0].get("made_by") for u in chunk):  # teardown's probes are not steps to drop
                index += size
                continue
            candidate_units = units[:index] + units[index + size:]
            if breaks([step for unit in candidate_units for step in unit]) is not None:
                units, removed = candidate_units, True
            else:
                index += size
        if replays >= MAX_REPLAYS or time.monotonic() >= deadline:
            break
        size //= 2
    if not removed:
        return None
    return {**trace, "steps": [step for unit in units for step in unit]}


def makes_concurrent_calls(trace: dict[str, Any]) -> bool:
    """Whether ``trace`` has a step that calls the SDK from several threads at once."""
    return any(step.get("rule") in CONCURRENT_RULES for step in trace["steps"])


def replay_rate(factory: AdapterFactory, trace: dict[str, Any], requirement: str,
                times: int = RACE_REPLAYS) -> tuple[int, int]:  # fmt: skip
    """How many replays of ``trace`` break ``requirement``, and how many ran: ``(shown, tried)``.

    All replays run on one fresh adapter, each as a new example, until ``times`` have run or
    ``MAX_SECONDS`` have passed (at least one runs). A replay that cannot run counts as tried.
    """
    from conformance.engine.replay import ReplaySession  # noqa: PLC0415  (replay imports the run loop)

    try:
        session = ReplaySession(factory, profile=trace["profile"])
    except Exception:  # noqa: BLE001  (an adapter that cannot start again shows nothing)
        return 0, 0
    shown = tried = 0
    started = time.monotonic()
    try:
        while tried < times:
            tried += 1
            try:
                found = session.replay(list(trace["steps"]), machine=trace["machine"])
            except Exception:  # noqa: BLE001  (a replay that cannot run shows nothing)
                found = []
            shown += any(v.requirement == requirement for v in found)
            if time.monotonic() - started >= MAX_SECONDS:
                break
    finally:
        with contextlib.suppress(Exception):
            session.close()
    return shown, tried
