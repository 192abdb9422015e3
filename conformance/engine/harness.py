"""What one run shares across Hypothesis examples: the adapter, the collector, the tallies.

The adapter is built once per run and reused by every example, as applications use an
SDK: one long-lived instance. Examples get fresh storage keys, so state that leaks from
one example into the next is exactly the carry-over the suite exists to find.
"""

from __future__ import annotations

import contextlib
import queue
import signal
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import attrs

from conformance._errors import (
    AdapterAbortedError,
    AdapterFailedError,
    RunInterruptedError,
    StepTimeoutError,
)
from conformance._violations import Violation
from conformance.adapters.protocol import Adapter, AdapterInfo
from conformance.collector.store import Collector
from simulator import Profile

T = TypeVar("T")

__all__ = ["Harness", "StepTimeoutError", "Workers", "call_with_timeout"]


SWITCH_INTERVAL = 1e-5
"""Seconds between GIL hand-overs while workers run calls (Python's default is 5 ms)."""


class Workers:
    """Threads that live for a whole run and make calls concurrently, as a server's do.

    A server SDK is called from long-lived request threads, so an SDK that keeps a
    caller's ids in thread-local state carries them into the next call on that thread;
    fresh threads per step would hide exactly that. Reusing threads is also far cheaper.
    """

    def __init__(self) -> None:
        self._queues: list[queue.SimpleQueue[_Task | None]] = []
        self._barriers: dict[int, threading.Barrier] = {}

    def run(self, jobs: list[Callable[[], None]], timeout: float) -> list[BaseException] | None:
        """Run each job on its own worker, all released at once by a barrier.

        Returns the jobs' exceptions (a barrier that breaks is one), or ``None`` if a job
        did not finish within ``timeout`` seconds.
        """
        if not jobs:
            return []
        while len(self._queues) < len(jobs):
            jobs_queue: queue.SimpleQueue[_Task | None] = queue.SimpleQueue()
            threading.Thread(target=_serve, args=(jobs_queue,), daemon=True,
                             name=f"conformance-worker-{len(self._queues)}").start()  # fmt: skip
            self._queues.append(jobs_queue)
        barrier = self._barriers.get(len(jobs))
        if barrier is None or barrier.broken:  # a barrier is reused until it breaks
            barrier = self._barriers[len(jobs)] = threading.Barrier(len(jobs))
        run = _Run(barrier, timeout, len(jobs))
        # A short switch interval hands the GIL over sooner: the calls interleave more
        # finely (better odds of exposing a race) and no thread idles a whole 5 ms slice.
        interval = sys.getswitchinterval()
        sys.setswitchinterval(SWITCH_INTERVAL)
        try:
            for jobs_queue, job in zip(self._queues, jobs, strict=False):
                jobs_queue.put((job, run))
            finished = run.done.acquire(timeout=timeout)
        finally:
            sys.setswitchinterval(interval)
        if not finished:
            self.close()  # a hung worker never takes another job: start afresh next time
            return None
        return run.errors

    def close(self) -> None:
        """Let every worker thread end."""
        for jobs_queue in self._queues:
            jobs_queue.put(None)
        self._queues = []
        self._barriers = {}


class _Run:
    """One ``Workers.run``: the barrier its jobs start at, and the count of jobs still running.

    Only the last job to finish wakes the caller (one wake-up, not one per job).
    """

    def __init__(self, barrier: threading.Barrier, timeout: float, jobs: int) -> None:
        self.barrier, self.timeout = barrier, timeout
        self.errors: list[BaseException] = []
        self.done = threading.Lock()
        self.done.acquire()  # released by the last job to finish
        self._counting = threading.Lock()
        self._running = jobs

    def finish(self, error: BaseException | None) -> None:
        with self._counting:
            if error is not None:
                self.errors.append(error)
            self._running -= 1
            last = self._running == 0
        if last:
            self.done.release()


_Task = tuple[Callable[[], None], _Run]


def _serve(tasks: queue.SimpleQueue[_Task | None]) -> None:
    while (task := tasks.get()) is not None:
        job, run = task
        try:
            run.barrier.wait(run.timeout)
            job()
        except BaseException as exc:  # noqa: BLE001  (handed to the caller)
            run.finish(exc)
        else:
            run.finish(None)


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
    state_coverage: defaultdict[str, Counter[str]] = attrs.Factory(lambda: defaultdict(Counter))
    """Per machine, how often each identity state and step from it was reached."""
    drawn: defaultdict[tuple[str, str], set[int]] = attrs.Factory(lambda: defaultdict(set))
    """Per (machine, rule), the argument indexes its drawn steps used (the value sweep reads it)."""
    found: dict[tuple[str, str], Violation] = attrs.Factory(dict)
    last_failing_trace: list[dict[str, Any]] | None = None
    last_failing_machine: str | None = None
    on_step: Callable[[str], None] | None = None
    first_failure_example: int | None = None
    """The example count when the current round first saw a violation (before shrinking)."""
    workers: Workers = attrs.Factory(Workers)
    """Long-lived threads for concurrent calls; stopped by :meth:`close`."""
    _alarm_installed: bool = attrs.field(default=False, init=False)
    _calling: str = attrs.field(default="", init=False)
    """The adapter call in progress (named in a timeout's message), or ``""`` between calls."""
    _call_started: float = attrs.field(default=0.0, init=False)
    _alarm_at: float = attrs.field(default=0.0, init=False)
    """When the timer set inside alarms() fires (monotonic clock); 0 when it is not set."""
    _timed_out: bool = attrs.field(default=False, init=False)
    """The call in progress has been told it timed out (it may have swallowed that)."""
    _timed_out_call: str = attrs.field(default="", init=False)
    current: Any = None
    """The machine running now (its trace is the evidence of an adapter error)."""
    last_adapter_error: str = ""
    """The round's first adapter error (a Flaky report from Hypothesis may not carry it)."""
    dirty: bool = False
    """The last example ended mid-way (an error): the SDK may still hold its queued events."""
    first_failing_trace: list[dict[str, Any]] | None = None
    """The trace of the example that first failed in this round, before any shrinking."""
    info_cache: AdapterInfo | None = None
    adapter_ref: str = ""
    """What ``replay(adapter=...)`` accepts for this adapter: a registry name or ``module:attr``."""

    @property
    def info(self) -> AdapterInfo:
        """The adapter's declaration (read once: a property is adapter code too)."""
        info = self.info_cache
        if info is None:
            info = self.info_cache = self.adapter.info
        return info

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
        """Call the adapter; a crash or a hang past the step timeout becomes an ERROR.

        Any exception is an :class:`AdapterFailedError`, ``SystemExit`` and other
        ``BaseException`` subclasses included; ``KeyboardInterrupt`` ends the run with a report.
        """
        return self._invoke(what, fn, args, kwargs, refusal=False)  # type: ignore[no-any-return]

    def attempt(self, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Exception | None:
        """Call the adapter where refusing is right: return the exception it raised, or ``None``.

        The call is under the step timeout like any other; only an :class:`Exception`
        counts as a refusal.
        """
        return self._invoke(what, fn, args, kwargs, refusal=True)  # type: ignore[no-any-return]

    def _invoke(self, what: str, fn: Callable[..., Any], args: tuple[Any, ...],
                kwargs: dict[str, Any], *, refusal: bool) -> Any:  # fmt: skip
        timed = _CAN_INTERRUPT and threading.get_ident() == _MAIN
        installed = timed and self._alarm_installed
        previous: Any = None
        self._timed_out = False
        if timed:
            self._calling, self._call_started = what, time.monotonic()
            if installed:
                # Inside alarms() the timer is left running between calls and set again only
                # when it would fire before this call has had its full step_timeout.
                if self._alarm_at < self._call_started + self.step_timeout:
                    self._set_alarm()
            else:  # outside alarms(): a handler and a timer for this call only
                previous = signal.signal(signal.SIGALRM, self._expire)
                self._set_alarm()
        try:
            value = fn(*args, **kwargs)
        except AdapterAbortedError:
            raise
        except AdapterFailedError:
            if self._timed_out:
                raise self._timeout_error() from None
            raise
        except Exception as exc:
            if self._timed_out:  # the SDK turned our timeout into an error of its own
                raise self._timeout_error() from exc
            if refusal and not _signature_mismatch(exc):
                return exc
            raise self._failed(what, exc) from exc
        except KeyboardInterrupt as exc:
            msg = f"run interrupted: KeyboardInterrupt during {what} of adapter {self.info.name!r}"
            raise RunInterruptedError(msg) from exc
        except BaseException as exc:  # SystemExit, GeneratorExit, an SDK's own BaseException
            raise self._failed(what, exc) from exc
        finally:
            if timed:
                self._calling = ""
                if not installed:
                    signal.setitimer(signal.ITIMER_REAL, 0)
                    signal.signal(signal.SIGALRM, previous)
                    self._alarm_at = 0.0
        if self._timed_out:  # the SDK swallowed the timeout and returned anyway
            raise self._timeout_error()
        return None if refusal else value

    def failure(self, what: str, exc: BaseException) -> AdapterFailedError:
        """The ERROR an adapter's exception becomes, for a call made on a worker thread too."""
        return self._failed(what, exc)

    def _failed(self, what: str, exc: BaseException) -> AdapterFailedError:
        self.note_failing_example()
        error = AdapterFailedError(f"adapter {self.info.name!r} raised {type(exc).__name__} in {what}: {exc}")
        self.last_adapter_error = self.last_adapter_error or str(error)
        return error

    def note_failing_example(self) -> None:
        """Keep the running example's trace if it is the round's first failure."""
        if self.first_failing_trace is None and self.current is not None:
            self.first_failing_trace = self.current._trace_as_called()  # noqa: SLF001

    def _timeout_error(self) -> StepTimeoutError:
        self.note_failing_example()
        error = StepTimeoutError(f"{self._timed_out_call} did not return within "
                                 f"{self.step_timeout:g} s (per-step timeout)")  # fmt: skip
        self.last_adapter_error = self.last_adapter_error or str(error)
        return error

    @contextlib.contextmanager
    def alarms(self) -> Iterator[None]:
        """Keep the step-timeout handler installed for a whole run, restoring the old one after.

        Installing a handler costs more than most adapter calls, and so does starting and
        stopping a timer. Inside this block the timer keeps running between calls (its
        handler ignores it when no call is in progress) and is set again at most once per
        ``(ALARM_SLACK - 1) * step_timeout`` seconds, however many calls there are.
        """
        if not (_CAN_INTERRUPT and threading.get_ident() == _MAIN):
            yield
            return
        previous = signal.signal(signal.SIGALRM, self._expire)
        self._alarm_installed = True
        try:
            yield
        finally:
            self._alarm_installed = False
            signal.setitimer(signal.ITIMER_REAL, 0)
            self._alarm_at = 0.0
            signal.signal(signal.SIGALRM, previous)

    def timer_lost(self) -> None:
        """Someone else used the process's timer (a replay's own harness): set it afresh next call."""
        self._alarm_at = 0.0

    def _set_alarm(self) -> None:
        """Fire after the current call has run for between 1 and ALARM_SLACK step_timeouts."""
        delay = self.step_timeout * ALARM_SLACK - (time.monotonic() - self._call_started)
        self._alarm_at = time.monotonic() + delay
        signal.setitimer(signal.ITIMER_REAL, delay)

    def close(self) -> None:
        """Release what the run holds beyond the adapter: the worker threads."""
        self.workers.close()

    def _expire(self, signum: int, frame: object) -> None:
        del signum, frame
        if not self._calling:  # the timer outlived the calls it was set for
            self._alarm_at = 0.0
            return
        if not self._timed_out and time.monotonic() - self._call_started < self.step_timeout:
            self._set_alarm()  # this call began after the timer was set: give it its full time
            return
        # Fire again soon: an SDK that swallows the error and goes on hanging is told again.
        self._timed_out, self._timed_out_call = True, self._calling
        self._alarm_at = time.monotonic() + self.step_timeout * REFIRE
        signal.setitimer(signal.ITIMER_REAL, self.step_timeout * REFIRE)
        raise self._timeout_error()


def _signature_mismatch(exc: Exception) -> bool:
    """A TypeError raised while binding the arguments: the adapter's method has the wrong signature.

    Its traceback ends in the frame that made the call (the function body never ran), so
    it is the adapter's bug, never the SDK refusing a call.
    """
    return type(exc) is TypeError and exc.__traceback__ is not None and exc.__traceback__.tb_next is None


def call_with_timeout(what: str, fn: Callable[[], T], timeout: float) -> T:
    """Run adapter set-up code (the factory, ``info``) under the step timeout.

    A hang raises :class:`StepTimeoutError`, repeated every ``REFIRE`` timeouts until the
    call ends, so set-up code that swallows it cannot hang the run.
    """
    if not (_CAN_INTERRUPT and threading.get_ident() == _MAIN):
        return fn()
    fired = [False]

    def expire(signum: int, frame: object) -> None:
        del signum, frame
        fired[0] = True
        raise StepTimeoutError(f"{what} did not return within {timeout:g} s (per-step timeout)")

    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, timeout, timeout * REFIRE)
    try:
        value = fn()
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    if fired[0]:
        msg = f"{what} did not return within {timeout:g} s (per-step timeout)"
        raise StepTimeoutError(msg)
    return value


_CAN_INTERRUPT = hasattr(signal, "setitimer")
"""SIGALRM interrupts a hung call only on POSIX, and only in the main thread."""
_MAIN = threading.main_thread().ident
ALARM_SLACK = 1.1
"""Inside alarms(), a hung call is reported after 1 to 1.1 step timeouts."""
REFIRE = 0.25
"""After a timeout, it is raised again every quarter step timeout until the call ends."""
