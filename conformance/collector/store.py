"""The in-process collector: what reaches it is the truth the checks compare with.

Real SDKs reach it over HTTP through :mod:`conformance.collector.http`, which decodes each wire
format and calls :meth:`Collector.ingest`; in-process adapters call ``ingest`` directly. An
adapter that needs a URL when the suite passed none asks :meth:`Collector.url_for`, which
starts the HTTP front end on demand; :meth:`Collector.close` stops it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final

import attrs

from conformance._errors import (
    CollectorOutageError,
    InvalidInputError,
    LostAckError,
    describe,
)
from simulator import Event

if TYPE_CHECKING:
    # Only for annotations: http imports this module, and importing it (and werkzeug) here
    # would load the server with every `import conformance`. url_for imports it lazily.
    from conformance.collector.http import HttpCollector


OUTAGE_FAULTS: Final = ("500", "502", "503", "429", "disconnect", "slow")
"""How a delivery fails during an outage: an HTTP status (429 with ``Retry-After: 1``) in the
vendor's error shape, ``disconnect``, the connection closed with no answer at all, or
``slow``, a 503 sent only after ``answer_after`` seconds (past the SDK's request timeout)."""


LOST_ACK_FAULTS: Final = ("503", "malformed-200", "slow")
"""How the answer to a delivery the collector recorded is lost: a 503 in the vendor's error
shape, ``malformed-200``, a 200 whose body is an HTML page (a proxy's or a captive
portal's), not the vendor's reply, or ``slow``, the vendor's 200 sent only after
``answer_after`` seconds, when the SDK has stopped waiting. Either way the SDK cannot know the
data arrived."""

SLOW_ANSWER_SECONDS: Final = 16.0
"""How late a ``slow`` fault answers unless told otherwise: past the 10 and 15 s request
timeouts the Python SDKs default to."""

MAX_ANSWER_AFTER: Final = 120.0
"""The latest a ``slow`` fault may answer: a bounded wait, whatever an SDK's timeout."""

SLOW_ANSWER_MARGIN: Final = 0.5
"""Seconds past an SDK's declared request timeout at which the suite's ``slow`` faults answer."""


@attrs.define
class Collector:
    """Receives canonical events; the state machines drain it after each flush."""

    url: str | None = None
    """Base URL of the HTTP front end, or ``None`` when only in-process delivery is possible."""
    _received: list[Event] = attrs.Factory(list)
    _fail_next: int = 0
    """Lost acks (503) armed from the start, as ``fail_next(count)`` arms them later."""
    _lost_acks: list[str] = attrs.field(init=False, repr=False, eq=False)
    _outage: list[str] = attrs.field(factory=list, init=False, repr=False, eq=False)
    _down: str | None = attrs.field(default=None, init=False, repr=False, eq=False)
    """The fault every delivery meets until :meth:`recover` (:meth:`go_down`), after ``_outage``."""
    slow_answer_seconds: float = attrs.field(default=SLOW_ANSWER_SECONDS, init=False, eq=False)
    """How late the HTTP front end answers a delivery that meets a ``slow`` fault (the last
    ``answer_after`` an arming method was given); in process the fault fails at once."""
    _lock: threading.Lock = attrs.Factory(threading.Lock)
    deliveries: int = 0
    failed_deliveries: int = 0
    _http: HttpCollector | None = attrs.field(default=None, init=False, repr=False, eq=False)
    """The HTTP front end :meth:`url_for` started, which :meth:`close` stops."""
    _http_lock: threading.Lock = attrs.field(
        factory=threading.Lock, init=False, repr=False, eq=False
    )

    @_lost_acks.default
    def _armed_at_start(self) -> list[str]:
        return ["503"] * self._fail_next

    def url_for(self, vendor: str | None = None) -> str:
        """The collector's URL for an SDK: the base URL, or ``<base>/<vendor>`` for ``vendor``.

        When ``url`` is ``None`` (the suite started no HTTP front end, as under
        ``identity-conformance run`` and pytest), the first call starts one on ``127.0.0.1``
        on a free port and sets ``url``; later calls, from any thread, reuse it.
        :meth:`close` stops it. ``vendor`` is one of
        :data:`conformance.collector.wire.VENDORS` (``"segment"``, ``"posthog"``...); an SDK
        pointed at its vendor's URL is decoded by that vendor's routes alone. An unknown
        vendor raises :class:`~conformance.collector.wire.UnknownVendorError`, before any
        server starts. An adapter that needs a collector URL does::

            def __init__(self, collector: Collector) -> None:
                self._client = AcmeClient(host=collector.url_for("segment"))
        """
        from conformance.collector.wire import check_vendor, vendor_url  # noqa: PLC0415

        if vendor is not None:
            check_vendor(vendor)
        with self._http_lock:
            base = self.url
            if base is None:
                from conformance.collector.http import HttpCollector  # noqa: PLC0415

                http = HttpCollector(self)
                base = http.start()
                self._http = http
        return base if vendor is None else vendor_url(base, vendor)

    def close(self) -> None:
        """Stop the HTTP front end :meth:`url_for` started, and clear ``url``.

        Safe to call twice, and a no-op when :meth:`url_for` started nothing (a front end
        someone else started, and its ``url``, are left alone). A later :meth:`url_for`
        starts a new one.
        """
        with self._http_lock:
            http, self._http = self._http, None
            if http is not None:
                http.stop()

    def ingest(self, events: list[Event]) -> None:
        """Record a delivery; raise :class:`DeliveryFailedError` after recording when a fault is armed.

        Recording before refusing models a lost acknowledgement: the data arrived but the
        SDK cannot know, so a correct SDK resends it with the same message ids.
        """
        with self._lock:
            self.deliveries += 1
            if self._outage or self._down is not None:
                self.failed_deliveries += 1
                raise CollectorOutageError(self._outage.pop(0) if self._outage else str(self._down))
            self._received.extend(events)
            if self._lost_acks:
                self.failed_deliveries += 1
                raise LostAckError(self._lost_acks.pop(0))

    def fail_next(self, count: int = 1, fault: str = "503", *, answer_after: float | None = None) -> None:
        """Record the next ``count`` deliveries, then answer each as ``fault`` (see :data:`LOST_ACK_FAULTS`).

        ``answer_after`` (seconds, for ``slow``) sets :attr:`slow_answer_seconds`.
        """
        if fault not in LOST_ACK_FAULTS:
            msg = f"unknown lost-ack fault {describe(fault)}; known: {', '.join(LOST_ACK_FAULTS)}"
            raise InvalidInputError(msg)
        self._set_answer_after(answer_after)
        with self._lock:
            self._lost_acks = [fault] * count

    def _set_answer_after(self, answer_after: float | None) -> None:
        if answer_after is None:
            return
        if type(answer_after) not in {int, float} or not 0 < answer_after <= MAX_ANSWER_AFTER:
            msg = (f"answer_after must be a number of seconds above 0 and at most {MAX_ANSWER_AFTER:g} "
                   f"(got {describe(answer_after)}); pass the SDK's request timeout plus a margin")  # fmt: skip
            raise InvalidInputError(msg)
        self.slow_answer_seconds = float(answer_after)

    def outage(self, faults: Sequence[str], *, answer_after: float | None = None) -> None:
        """Fail the next ``len(faults)`` deliveries, one fault each in order, recording nothing of them.

        Each fault is one of :data:`OUTAGE_FAULTS`; :meth:`recover` ends the outage early.
        ``answer_after`` (seconds, for ``slow``) sets :attr:`slow_answer_seconds`.
        """
        if isinstance(faults, str) or not isinstance(faults, Sequence):
            msg = f"faults must be a list of {', '.join(OUTAGE_FAULTS)} (got {describe(faults)})"
            raise InvalidInputError(msg)
        unknown = [f for f in faults if f not in OUTAGE_FAULTS]
        if unknown:
            msg = f"unknown outage fault {describe(unknown[0])}; known: {', '.join(OUTAGE_FAULTS)}"
            raise InvalidInputError(msg)
        self._set_answer_after(answer_after)
        with self._lock:
            self._outage = list(faults)

    def go_down(self, fault: str = "503", *, answer_after: float | None = None) -> None:
        """Fail every delivery with ``fault`` (one of :data:`OUTAGE_FAULTS`), recording nothing, until :meth:`recover`.

        An outage with no end in sight: what an SDK meets when its process ends while the
        endpoint is down (the exit probe's second run, ``identity-conformance collector --down``).
        """
        if fault not in OUTAGE_FAULTS:
            msg = f"unknown outage fault {describe(fault)}; known: {', '.join(OUTAGE_FAULTS)}"
            raise InvalidInputError(msg)
        self._set_answer_after(answer_after)
        with self._lock:
            self._down = fault

    def recover(self) -> int:
        """End the outage (a :meth:`go_down` one too); return how many of its listed faults no delivery met."""
        with self._lock:
            left, self._outage, self._down = len(self._outage), [], None
            return left

    def disarm(self) -> int:
        """Cancel armed faults (lost acks, any outage, a :meth:`go_down`); return how many listed ones were still armed."""
        with self._lock:
            left = len(self._lost_acks) + len(self._outage)
            self._lost_acks, self._outage, self._down = [], [], None
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
