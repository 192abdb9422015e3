"""Delivery mutants: transports that lose, repeat, renumber or reorder what both halves send.

Most replace :meth:`_DeliveryMutant.deliver_batch`, the function the SDK's outbox hands
every batch to (``simulator.Outbox.deliver``); the last two plant their bug in how a batch
is taken from the queue and in the exit hook. Each names its primary requirement
(``breaks``) and the knock-on failures full runs show (``also_breaks``).
"""

from __future__ import annotations

import contextlib
import threading
import time
import uuid
from collections.abc import Mapping
from typing import Any

import attrs

from conformance.collector.store import Collector
from conformance.mutants.base import Mutant, _DeliveryMutant, _MutantAdapter, registrar
from simulator import DeliveryError, Event, Kind, Outbox
from simulator.testing import queue_call, queued_calls, take_queued_calls

MUTANTS: list[Mutant] = []
mutant = registrar(MUTANTS)

_EXACTLY_ONCE = "delivery.exactly-once"
_UNIQUE = "delivery.message-id.unique"


@mutant("mutant-drops-every-seventh-event", _EXACTLY_ONCE,
        "Flush splits the batch into chunks with an off-by-one, so the 7th event of every 7 is "
        "never sent.", scope="both", also_breaks=("client.identify.emits-per-profile",))  # fmt: skip
class _DropsEverySeventhEvent(_DeliveryMutant):
    def deliver_batch(self, events: list[Event]) -> None:
        for start in range(0, len(events), 7):
            self.send_batch(events[start : start + 6])


@mutant("mutant-identify-sent-twice", _EXACTLY_ONCE,
        "Identify events are sent twice, immediately and again with the batch, and the second "
        "copy gets its own message id.", scope="both",
        also_breaks=("delivery.retry.same-message-id",))  # fmt: skip
class _IdentifySentTwice(_DeliveryMutant):
    def deliver_batch(self, events: list[Event]) -> None:
        again = [attrs.evolve(e, message_id=self.sdk.ids.new_id())
                 for e in events if e.kind is Kind.IDENTIFY]  # fmt: skip
        self.send_batch(events + again)


@mutant("mutant-retry-new-message-ids", "delivery.retry.same-message-id",
        "A batch resent after a failed delivery is serialized again with new message ids.",
        scope="both")  # fmt: skip
class _RetryNewMessageIds(_DeliveryMutant):
    retrying = False

    def deliver_batch(self, events: list[Event]) -> None:
        if self.retrying:
            events = [attrs.evolve(e, message_id=self.sdk.ids.new_id()) for e in events]
        try:
            self.send_batch(events)
        except DeliveryError:
            self.retrying = True
            raise
        self.retrying = False


@mutant("mutant-message-ids-per-batch", _UNIQUE,
        "Message ids are numbered from zero in every batch, so each batch reuses the previous "
        "batch's ids.", scope="both")  # fmt: skip
class _MessageIdsPerBatch(_DeliveryMutant):
    def deliver_batch(self, events: list[Event]) -> None:
        self.send_batch([attrs.evolve(e, message_id=f"msg-{i:06d}")
                         for i, e in enumerate(events)])  # fmt: skip


@mutant("mutant-message-id-from-content", _UNIQUE,
        "The message id is a hash of the event's kind, name and ids, so two identify calls "
        "for the same user get the same message id.", scope="both")  # fmt: skip
class _MessageIdFromContent(_DeliveryMutant):
    def deliver_batch(self, events: list[Event]) -> None:
        def content_id(e: Event) -> str:
            key = f"{e.kind.value}|{e.name}|{e.user_id}|{e.anonymous_id}|{e.distinct_id}"
            return str(uuid.uuid5(uuid.NAMESPACE_URL, key))

        self.send_batch([attrs.evolve(e, message_id=content_id(e)) for e in events])


# -- mutants of the SHOULD requirements --------------------------------------------------------
@mutant("mutant-identify-sent-first", "delivery.order.per-client",
        "Flush sends a batch's identify events ahead of its other events, so a client's events "
        "arrive out of call order.", scope="both")  # fmt: skip
class _IdentifySentFirst(_DeliveryMutant):
    def deliver_batch(self, events: list[Event]) -> None:
        self.send_batch(sorted(events, key=lambda e: e.kind is not Kind.IDENTIFY))


@mutant("mutant-drops-batch-on-server-error", "delivery.outage.no-silent-loss",
        "A batch the collector fails (a 5xx, a 429, a dropped connection) is discarded without a "
        "retry, an error or a log line, as a consumer that catches every send error does.",
        scope="both")  # fmt: skip
class _DropsBatchOnServerError(_DeliveryMutant):
    def deliver_batch(self, events: list[Event]) -> None:
        with contextlib.suppress(DeliveryError):
            self.send_batch(events)


def _timed_out(error: DeliveryError) -> bool:
    """Whether the failed delivery met a ``slow`` fault: its answer came after the request timeout.

    In process the collector's error names the fault; over HTTP the poster's
    :class:`~conformance._errors.DeliveryTimedOutError` does.
    """
    return getattr(error.__cause__, "fault", None) == "slow"


class _TimeoutMutant(_DeliveryMutant):
    """Delivers as the reference does until an answer comes too late; then :meth:`after_timeout` decides."""

    def deliver_batch(self, events: list[Event]) -> None:
        try:
            self.send_batch(events)
        except DeliveryError as exc:
            if not _timed_out(exc):
                raise
            self.after_timeout(events)

    def after_timeout(self, events: list[Event]) -> None:
        """What the SDK does with a batch whose answer came too late: here nothing (it counts as delivered)."""


@mutant("mutant-timeout-counts-as-delivered", "delivery.outage.no-silent-loss",
        "A delivery whose answer does not come within the request timeout counts as delivered "
        '("it probably arrived"): no retry, no error, no log line.', scope="both")  # fmt: skip
class _TimeoutCountsAsDelivered(_TimeoutMutant):
    pass


@mutant("mutant-timeout-resent-as-new", "delivery.retry.same-message-id",
        "A delivery that timed out is resent as new events with new message ids, so the "
        "collector, which did record the first one, gets each event twice.", scope="both",
        also_breaks=(_EXACTLY_ONCE,))  # fmt: skip
class _TimeoutResentAsNew(_TimeoutMutant):
    def after_timeout(self, events: list[Event]) -> None:
        self.send_batch([attrs.evolve(e, message_id=self.sdk.ids.new_id()) for e in events])


@mutant("mutant-batching-consumer-race", "delivery.exactly-once",
        "The server SDK sends a batch from the calling thread once 4 calls are queued, reading the "
        "queue and then clearing it, so calls other threads queue in between are dropped (one "
        "thread at a time, nothing is lost).", scope="both",
        also_breaks=("delivery.outage.no-silent-loss",))  # fmt: skip
class _BatchingConsumerRace(_MutantAdapter):
    FLUSH_AT = 4
    GAP_SECONDS = 0.001
    """Between reading the batch and clearing the queue: where other threads' calls are lost."""

    def __init__(self, collector: Collector, profile: str | None = None, seed: int = 0) -> None:
        super().__init__(collector, profile, seed)
        self._sending = threading.Lock()
        self._sent = Outbox(deliver=self.sdk.outbox.deliver)  # every batch goes out here: one message-id sequence

    def track(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
              anonymous_id: str | None) -> None:  # fmt: skip
        super().track(event, properties, user_id=user_id, anonymous_id=anonymous_id)
        if len(queued_calls(self.sdk.outbox)) >= self.FLUSH_AT:
            self._send_batch()

    def _send_batch(self) -> None:
        with self._sending:
            batch = queued_calls(self.sdk.outbox)
            if batch:
                time.sleep(self.GAP_SECONDS)
            taken = take_queued_calls(self.sdk.outbox)  # the planted bug: more than `batch` may go
            for call in taken[: len(batch)]:
                queue_call(self._sent, call)
            self._sent.flush()

    def flush(self) -> None:
        self._send_batch()

    def shutdown(self) -> None:
        self._send_batch()


@mutant("mutant-server-exit-loss-silent", "delivery.outage.no-silent-loss",
        "The server SDK's exit hook swallows a failed delivery: a process that ends during an "
        "outage loses what it queued and nobody is told.", scope="both")  # fmt: skip
class _ServerExitLossSilent(_MutantAdapter):
    EXIT_HOOK = ("def _flush_quietly():\n"
                 "    try:\n"
                 "        adapter.flush()\n"
                 "    except Exception:\n"
                 "        pass  # the batch is gone and nothing says so\n"
                 "atexit.register(_flush_quietly)")  # fmt: skip
