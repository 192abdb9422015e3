"""The one error root of the conformance package, and its usage-error subclasses."""

from __future__ import annotations

from typing import Any


class ConformanceError(Exception):
    """Root of every error this package raises on purpose."""


class InvalidAdapterError(ConformanceError, TypeError):
    """An adapter factory or adapter that does not satisfy the Adapter protocol."""


class UnknownAdapterError(ConformanceError, LookupError):
    """An adapter name that no built-in, mutant or entry point provides."""


class InvalidInputError(ConformanceError, ValueError):
    """A bad option, file or trace given to the suite."""


class AdapterFailedError(ConformanceError):
    """The adapter (or the SDK behind it) crashed, hung or answered garbage: an ERROR verdict."""


class AdapterAbortedError(BaseException):
    """An adapter call that must end its machine at once: a hang or an interrupt.

    Not an :class:`Exception`, on purpose: an SDK's ``except Exception`` cannot swallow it,
    and Hypothesis lets it through instead of shrinking, so a hang is met once, not re-run
    for every shrink step. The engine turns it into an ERROR verdict with a report.
    """

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class StepTimeoutError(AdapterAbortedError):
    """An adapter call did not return within the per-step timeout."""


class RunInterruptedError(AdapterAbortedError):
    """KeyboardInterrupt during an adapter call: the run stops and reports what it had."""


class DeliveryFailedError(ConformanceError):
    """The collector refused a delivery on purpose (fault injection); the SDK should retry."""


class CollectorOutageError(DeliveryFailedError):
    """A delivery the collector failed on purpose during an outage, recording nothing of it."""

    def __init__(self, fault: str) -> None:
        self.fault = fault
        """One of :data:`conformance.collector.store.OUTAGE_FAULTS`."""
        super().__init__(f"collector outage on purpose (fault injection: {fault}); nothing was recorded")


class LostAckError(DeliveryFailedError):
    """A delivery the collector recorded and then answered as failed on purpose (a lost acknowledgement)."""

    def __init__(self, fault: str) -> None:
        self.fault = fault
        """One of :data:`conformance.collector.store.LOST_ACK_FAULTS`."""
        super().__init__(f"collector refused this delivery on purpose (fault injection: lost ack, {fault})")


class DeliveryTimedOutError(DeliveryFailedError):
    """No answer came within the request timeout (a ``slow`` fault, seen from an HTTP client): recorded or not, no one can tell."""

    fault = "slow"


def describe(value: Any) -> str:
    """``'x' of type str``: how every message shows a bad value."""
    return f"{value!r} of type {type(value).__name__}"
