"""The server adapter for ``amplitude-analytics`` (import ``amplitude``).

Amplitude's id model is a device id plus an optional user id (SEMANTICS.md 1.1, 5.6): the
device id *is* the anonymous id. The adapter's documented mapping, one call to one SDK call:

* ``track(event, properties, user_id=, anonymous_id=)`` is ``Amplitude.track(BaseEvent(
  event_type=event, user_id=user_id, device_id=anonymous_id, event_properties=properties))``
  with a new ``BaseEvent`` per call (the SDK writes ``time``, ``insert_id`` and ``library``
  onto the object it is given);
* ``identify(user_id=, anonymous_id=, traits=)`` is ``Amplitude.identify(identify,
  EventOptions(user_id=user_id, device_id=anonymous_id))`` where ``identify`` is a new
  ``Identify()`` with ``set(key, value)`` for every trait, in order;
* Amplitude has no alias.

This is the SDK's default delivery mode, the one applications run: amplitude-analytics has
no synchronous mode, so ``sdk-amplitude`` has no second variant (a background consumer
thread batches the buffer; ``flush()`` hands it over at once).

Ids and dicts are passed as given (``None`` stays ``None``). The client is built once with
``Config(server_url=<collector>/2/httpapi)`` and few ``flush_max_retries``. Delivery:

* ``flush()`` calls the SDK's ``flush()`` and waits (``.result()``) on every future it
  returns, so a delivery error raises. A batch that failed is put back in the SDK's buffer
  for a retry, and the SDK's ``flush()`` sends whatever is buffered, retries included; so
  the adapter repeats ``flush()`` until it finds nothing (at most ``flush_max_retries + 1``
  rounds). One ``flush()`` alone returns while a retry is still pending.
* ``flush_interval_millis`` stays at the SDK default (10 s), not the 100-200 ms that
  SEMANTICS.md suggests: the SDK's own consumer thread sends the buffer every interval,
  and ``flush()`` does not wait for a batch that thread has already taken, so with a short
  interval events arrive after ``flush()`` returned and the verdicts depend on timing. The
  cost: interpreter exit may wait up to one interval for that (non-daemon) thread.

``retries``: the SDK retries failed batches. ``threads``: Amplitude documents one client
instance reused across requests. The SDK reports events it drops (no ids, invalid
properties) only through ERROR log records with tracebacks; the ``amplitude`` logger is set
to CRITICAL, and what was (not) sent is judged on the wire.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from conformance.adapters.protocol import AdapterKind
from conformance.adapters.sdk import SdkProgram, SdkSpec, ServerSdkAdapter
from simulator import epoch_ms

DISTRIBUTION = "amplitude-analytics"
SPEC = SdkSpec(
    name="sdk-amplitude", kind=AdapterKind.SERVER, profile="amplitude", distribution=DISTRIBUTION,
    import_name="amplitude", pin="1.3.0", wire="amplitude",
    capabilities=frozenset({"exit", "identify", "message-id", "retries", "threads", "timestamp"}),
    description="amplitude-analytics Amplitude (/2/httpapi); anonymous id = device_id.",
)  # fmt: skip
"""The one declaration of this adapter (see :class:`~conformance.adapters.sdk.SdkSpec`)."""
API_KEY = "identity-conformance-key"
FLUSH_INTERVAL_MILLIS = 10_000
FLUSH_MAX_RETRIES = 2


PROGRAM = SdkProgram(
    imports="from amplitude import Amplitude, BaseEvent, Config, EventOptions, Identify",
    setup=(f"client = Amplitude({API_KEY!r}, Config(server_url=URL + '/2/httpapi', "
           f"flush_interval_millis={FLUSH_INTERVAL_MILLIS}, flush_max_retries={FLUSH_MAX_RETRIES}))"),
    track="client.track(BaseEvent(event_type={event}, user_id={user_id}, device_id={anonymous_id}, "
          "event_properties={properties}))",
    identify="operations = Identify(); [operations.set(k, v) for k, v in {traits}.items()]; "
             "client.identify(operations, EventOptions(user_id={user_id}, device_id={anonymous_id}))",
    flush="[f.result() for f in client.flush() if f is not None]",
    shutdown="client.shutdown()",
    track_with_options="client.track(BaseEvent(event_type={event}, user_id={user_id}, device_id={anonymous_id}, "
                       "event_properties={properties}, insert_id={message_id}, time=None if {timestamp} is None "
                       "else ({timestamp} - datetime.datetime(1970, 1, 1, tzinfo=datetime.timezone.utc)) "
                       "// datetime.timedelta(milliseconds=1)))",
)  # fmt: skip
"""The calls above as amplitude-analytics code (reproducers that need no suite)."""

class AmplitudeAdapter(ServerSdkAdapter):
    """amplitude-analytics' ``Amplitude`` client, aimed at the collector."""

    SPEC = SPEC

    def _start_sdk(self) -> None:
        self._sdk = amplitude = importlib.import_module("amplitude")  # the SDK is optional
        config = amplitude.Config(
            server_url=f"{self.url}/2/httpapi",
            flush_interval_millis=FLUSH_INTERVAL_MILLIS,
            flush_max_retries=FLUSH_MAX_RETRIES,
        )
        self.client = amplitude.Amplitude(API_KEY, config)
        logging.getLogger(amplitude.constants.LOGGER_NAME).setLevel(logging.CRITICAL)

    def track(
        self,
        event: str,
        properties: Mapping[str, Any],
        *,
        user_id: str | None,
        anonymous_id: str | None,
    ) -> None:
        """``track(BaseEvent(...))`` with ``user_id`` and ``device_id`` = the anonymous id."""
        self.client.track(self._sdk.BaseEvent(
            event_type=event, user_id=user_id, device_id=anonymous_id,
            event_properties=properties,
        ))  # fmt: skip

    def track_with_options(
        self,
        event: str,
        properties: Mapping[str, Any],
        *,
        user_id: str | None,
        anonymous_id: str | None,
        timestamp: datetime | None = None,
        message_id: str | None = None,
        context: dict[str, Any] | None = None,
    ) -> None:
        """``BaseEvent`` with ``time`` (epoch ms, Amplitude's form of a timestamp) and ``insert_id``."""
        del context  # never given: the adapter declares no ``context``
        self.client.track(self._sdk.BaseEvent(
            event_type=event, user_id=user_id, device_id=anonymous_id, event_properties=properties,
            insert_id=message_id, time=None if timestamp is None else epoch_ms(timestamp),
        ))  # fmt: skip

    def identify(
        self, *, user_id: str | None, anonymous_id: str | None, traits: Mapping[str, Any]
    ) -> None:
        """``identify(Identify().set(k, v)..., EventOptions(user_id=, device_id=))``."""
        operations = self._sdk.Identify()
        for key, value in traits.items():
            operations.set(key, value)
        options = self._sdk.EventOptions(user_id=user_id, device_id=anonymous_id)
        self.client.identify(operations, options)

    def flush(self) -> None:
        """``flush()`` and wait on its futures, again while the SDK's buffer still holds events.

        A failed batch is put back in the buffer for a retry; the SDK's ``flush()`` sends it
        at once, so the rounds end when ``flush()`` finds nothing (at most one round per
        allowed retry, plus the first). A future that raises propagates.
        """
        for _ in range(FLUSH_MAX_RETRIES + 1):
            futures = [f for f in self.client.flush() if f is not None]
            if not futures:
                return
            for future in futures:
                future.result()

    def _release_sdk(self) -> None:
        self.client.shutdown()  # the SDK's own: flush, then stop its workers


ADAPTER = AmplitudeAdapter
