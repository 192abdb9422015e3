"""The in-process collector: what reaches it is the truth the checks compare with.

Real SDKs reach it over HTTP through :mod:`conformance.collector.http`, which decodes each wire
format and calls :meth:`Collector.ingest`; in-process adapters call ``ingest`` directly.
"""

from __future__ import annotations

import threading

import attrs

from conformance._errors import DeliveryFailedError
from simulator import Event


@attrs.define
class Collector:
    """Receives canonical events; the state machines drain it after each flush."""

    url: str | None = None
    """Base URL of the HTTP front end, or ``None`` when only in-process delivery is possible."""
    _received: list[Event] = attrs.Factory(list)
    _fail_next: int = 0
    _lock: threading.Lock = attrs.Factory(threading.Lock)
    deliveries: int = 0
    failed_deliveries: int = 0

    def ingest(self, events: list[Event]) -> None:
        """Record a delivery; raise :class:`DeliveryFailedError` after recording when a fault is armed.

        Recording before refusing models a lost acknowledgement: the data arrived but the
        SDK cannot know, so a correct SDK resends it with the same message ids.
        """
        with self._lock:
            self._received.extend(events)
            self.deliveries += 1
            if self._fail_next:
                self._fail_next -= 1
                self.failed_deliveries += 1
                msg = "collector refused this delivery on purpose (fault injection: lost ack)"
                raise DeliveryFailedError(msg)

    def fail_next(self, count: int = 1) -> None:
        """Refuse the next ``count`` deliveries after recording them."""
        with self._lock:
            self._fail_next = count

    def disarm(self) -> int:
        """Cancel armed faults; return how many were still armed."""
        with self._lock:
            left, self._fail_next = self._fail_next, 0
            return left

    def pending(self) -> int:
        """How many events arrived since the last drain (taken when a flush returns)."""
        with self._lock:
            return len(self._received)

    def drain(self) -> list[Event]:
        """Everything received since the last drain, in arrival order."""
        with self._lock:
            received, self._received = self._received, []
            return received
