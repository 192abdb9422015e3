"""Minimal reproducers: drop every step whose removal still reproduces the finding.

Hypothesis shrinks the choices that generate an example, which leaves steps that change
nothing (a flush with nothing pending, a second reopen) whenever removing them does not
shorten the choice sequence. After a failure the engine replays the trace without each
step in turn, on a fresh adapter, and keeps a removal when the same requirement still
fails. Steps a rule or teardown made itself (``made_by``) go and come with their maker.
The pass is bounded in replays and seconds, so a slow SDK costs at most the budget.
"""

from __future__ import annotations

import time
from collections.abc import Collection
from typing import Any

from conformance._violations import Violation
from conformance.adapters.protocol import AdapterFactory

MAX_REPLAYS = 40
MAX_SECONDS = 5.0
MAX_STEPS = 60
"""Longer traces are left as Hypothesis shrank them (the pass is quadratic in the worst case)."""


def minimize(
    factory: AdapterFactory,
    trace: dict[str, Any],
    requirements: Collection[str],
) -> tuple[dict[str, Any], list[Violation]] | None:
    """A shorter trace that still breaks one of ``requirements``, with its violations.

    ``None`` when the trace does not reproduce on a fresh adapter (state carried across
    examples inside a long-lived SDK), when it is too long, or when nothing could go.
    """
    from conformance.engine.replay import replay  # noqa: PLC0415  (replay imports the run loop)

    steps: list[dict[str, Any]] = list(trace["steps"])
    if not steps or len(steps) > MAX_STEPS:
        return None
    wanted = set(requirements)
    deadline = time.monotonic() + MAX_SECONDS
    replays = 0

    def breaks(candidate: list[dict[str, Any]]) -> list[Violation] | None:
        nonlocal replays
        replays += 1
        try:
            found = replay(factory, candidate, profile=trace["profile"], machine=trace["machine"])
        except Exception:  # noqa: BLE001  (a candidate that cannot run is not a reproducer)
            return None
        return found if any(v.requirement in wanted for v in found) else None

    best = breaks(steps)
    if best is None:
        return None
    removed = False
    index = 0
    while index < len(steps) and replays < MAX_REPLAYS and time.monotonic() < deadline:
        if steps[index].get("made_by"):
            index += 1
            continue
        end = index + 1
        while end < len(steps) and steps[end].get("made_by") and steps[end]["made_by"] != "teardown":
            end += 1  # the calls this step made go with it
        candidate = steps[:index] + steps[end:]
        found = breaks(candidate)
        if found is not None:
            steps, best, removed = candidate, found, True
        else:
            index = end
    if not removed:
        return None
    return {**trace, "steps": steps}, best
