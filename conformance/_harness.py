"""What one run shares across Hypothesis examples: the adapter, the collector, the tallies.

The adapter is built once per run and reused by every example, as applications use an
SDK: one long-lived instance. Examples get fresh storage keys, so state that leaks from
one example into the next is exactly the carry-over the suite exists to find.
"""

from __future__ import annotations

import signal
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any, TypeVar

import attrs

from conformance._adapter import Adapter, AdapterInfo
from conformance._collector import Collector
from conformance._errors import AdapterFailedError
from conformance._violations import Violation
from simulator import Profile

T = TypeVar("T")


class StepTimeoutError(AdapterFailedError):
    """An adapter call did not return within the per-step timeout."""


@attrs.define
class Harness:
    """Shared state of one conformance run."""

    adapter: Adapter
    collector: Collector
    profile: Profile
    step_timeout: float = 10.0
    ignore: frozenset[str] = frozenset()
    """Requirements already reported; the machine notes but does not raise for them."""
    examples: int = 0
    steps: int = 0
    rule_counts: Counter[str] = attrs.Factory(Counter)
    checks: Counter[str] = attrs.Factory(Counter)
    """How many times each requirement was actually evaluated."""
    found: dict[tuple[str, str], Violation] = attrs.Factory(dict)
    last_failing_trace: list[dict[str, Any]] | None = None
    last_failing_machine: str | None = None
    on_step: Callable[[str], None] | None = None
    first_failure_example: int | None = None
    """The example count when the current round first saw a violation (before shrinking)."""

    @property
    def info(self) -> AdapterInfo:
        """The adapter's declaration."""
        return self.adapter.info

    def detection_example(self) -> int:
        """How many examples ran before the current round first saw a violation."""
        return self.examples if self.first_failure_example is None else self.first_failure_example

    def new_example(self) -> str:
        """A storage-key prefix unique to the next example."""
        self.examples += 1
        return f"x{self.examples}-"

    def count_rule(self, name: str) -> None:
        """Tally one executed rule step."""
        self.steps += 1
        self.rule_counts[name] += 1
        if self.on_step is not None:
            self.on_step(name)

    def call(self, what: str, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Call the adapter; a crash or a hang past the step timeout becomes an ERROR."""
        # Inline rather than a context manager: this runs on every adapter call of every step.
        timed = self.step_timeout > 0 and _CAN_INTERRUPT and threading.current_thread() is _MAIN
        previous: Any = None
        if timed:
            previous = signal.signal(signal.SIGALRM, _Expire(what, self.step_timeout))
            signal.setitimer(signal.ITIMER_REAL, self.step_timeout)
        try:
            return fn(*args, **kwargs)
        except AdapterFailedError:
            raise
        except Exception as exc:
            msg = f"adapter {self.info.name!r} raised {type(exc).__name__} in {what}: {exc}"
            raise AdapterFailedError(msg) from exc
        finally:
            if timed:
                signal.setitimer(signal.ITIMER_REAL, 0)
                signal.signal(signal.SIGALRM, previous)


_CAN_INTERRUPT = hasattr(signal, "setitimer")
"""SIGALRM interrupts a hung call only on POSIX, and only in the main thread."""
_MAIN = threading.main_thread()


@attrs.frozen
class _Expire:
    """The SIGALRM handler of one adapter call: interrupt it with a StepTimeoutError."""

    what: str
    seconds: float

    def __call__(self, signum: int, frame: object) -> None:
        """Raise in the interrupted call."""
        del signum, frame
        msg = f"{self.what} did not return within {self.seconds:g} s (per-step timeout)"
        raise StepTimeoutError(msg)
