"""The server adapter for ``snowplow-tracker`` (import ``snowplow_tracker``).

Snowplow puts identity on a ``Subject`` and has no identify, alias or group concept
(SEMANTICS.md 5.7). The adapter's documented mapping:

* **ids**: a fresh per-event ``Subject`` with ``set_user_id(user_id)`` (``uid``) and
  ``set_domain_user_id(anonymous_id)`` (``duid``); ``None`` is passed as is (the tracker
  leaves a ``None`` field out of the payload). No Subject is attached to the ``Tracker``.
* ``track(event, properties, ...)`` is ``Tracker.track(SelfDescribing(SelfDescribingJson(
  schema, properties), event_subject=subject))``, Snowplow's event type for a custom event
  with arbitrary properties, with ``schema`` = ``iglu:<VENDOR>/<event>/jsonschema/1-0-0``
  (the event name is the schema's name) and the caller's dict as the event data. A new
  ``Event`` object per call.
* ``identify`` sends nothing: Snowplow has no identify call, and the ``snowplow`` profile
  says identify emits no event (the user id travels on each event's Subject). The call
  returns normally, so a suite that expects an identify event sees none arrive.
* no alias.

One ``Tracker`` with one synchronous ``Emitter`` (POST to ``/com.snowplowanalytics.
snowplow/tp2`` on the collector) with ``batch_size=1``, so each ``track`` sends inside the
call. ``retries``: a failed request goes back into the emitter's buffer and is retried on a
timer (delay at most ``max_retry_delay_seconds``, 1 s here), with no attempt cap; while
that timer is pending, ``Tracker.flush()`` returns at once without sending anything. So the
adapter's ``flush()`` calls ``Tracker.flush()`` until the emitter's buffer
(``event_store.size()``) stays empty across two calls (the second one waits, on the
emitter's lock, for a send the retry timer may have in flight), polling while a retry is
pending and giving up after ``FLUSH_DEADLINE_SECONDS``: what is still buffered then was
neither delivered nor reported failed, and the suite sees it missing. ``threads``: the
emitters are documented thread-safe (release 0.7.0). Importing the package calls ``logging.basicConfig()`` and sets
its loggers to INFO, logging every request; the adapter sets them to WARNING.
"""

from __future__ import annotations

import importlib
import logging
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from conformance.adapters.protocol import AdapterKind
from conformance.adapters.sdk import SdkSpec, ServerSdkAdapter
from simulator import epoch_ms

DISTRIBUTION = "snowplow-tracker"
TIMEOUT_SECONDS = 2
"""The request timeout the adapter gives the SDK (declared: the suite's ``slow`` faults answer past it)."""
SPEC = SdkSpec(
    name="sdk-snowplow", kind=AdapterKind.SERVER, profile="snowplow", distribution=DISTRIBUTION,
    import_name="snowplow_tracker", pin="1.1.0", wire="snowplow",
    capabilities=frozenset({"retries", "threads", "timestamp"}),
    description="snowplow-tracker Tracker + Emitter(batch_size=1); self-describing events, uid/duid.",
    request_timeout=TIMEOUT_SECONDS,
)  # fmt: skip
"""The one declaration of this adapter (see :class:`~conformance.adapters.sdk.SdkSpec`)."""
NAMESPACE = "identity-conformance"
VENDOR = "dev.identity-conformance"
MAX_RETRY_DELAY_SECONDS = 1
FLUSH_DEADLINE_SECONDS = 5.0
FLUSH_POLL_SECONDS = 0.02
_LOGGERS = ("snowplow_tracker", "snowplow_tracker.emitters", "snowplow_tracker.snowplow")


def schema_for(event: str) -> str:
    """The self-describing schema URI the adapter gives ``event``."""
    return f"iglu:{VENDOR}/{event}/jsonschema/1-0-0"


class SnowplowAdapter(ServerSdkAdapter):
    """snowplow-tracker's ``Tracker`` with a synchronous ``Emitter`` aimed at the collector."""

    SPEC = SPEC

    def _start_sdk(self) -> None:
        snowplow_tracker = importlib.import_module("snowplow_tracker")  # the SDK is optional
        for name in _LOGGERS:
            logging.getLogger(name).setLevel(logging.WARNING)
        self._sdk = snowplow_tracker
        self.tracker = self._build_tracker(snowplow_tracker)
        self.emitter = self.tracker.emitters[0]

    def _build_tracker(self, sdk: Any) -> Any:
        emitter = sdk.Emitter(
            self.url, method="post", batch_size=1, request_timeout=TIMEOUT_SECONDS,
            max_retry_delay_seconds=MAX_RETRY_DELAY_SECONDS,
        )  # fmt: skip
        return sdk.Tracker(NAMESPACE, emitter)

    def track(
        self,
        event: str,
        properties: Mapping[str, Any],
        *,
        user_id: str | None,
        anonymous_id: str | None,
    ) -> None:
        """A self-describing event whose Subject carries ``uid``/``duid`` as given."""
        self._track(event, properties, user_id=user_id, anonymous_id=anonymous_id, true_timestamp=None)

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
        """The same event with ``true_timestamp`` (epoch ms; the tracker sends it as ``ttm``).

        Only ``timestamp`` is declared: the tracker makes every event id (``eid``) itself,
        and a Snowplow context is a list of self-describing entities, not a dict.
        """
        del message_id, context  # never given: not declared
        self._track(event, properties, user_id=user_id, anonymous_id=anonymous_id,
                    true_timestamp=None if timestamp is None else epoch_ms(timestamp))  # fmt: skip

    def _track(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
               anonymous_id: str | None, true_timestamp: int | None) -> None:  # fmt: skip
        sdk = self._sdk
        subject = sdk.Subject().set_user_id(user_id).set_domain_user_id(anonymous_id)
        data = sdk.SelfDescribingJson(schema_for(event), properties)
        self.tracker.track(sdk.SelfDescribing(data, event_subject=subject, true_timestamp=true_timestamp))

    def identify(
        self, *, user_id: str | None, anonymous_id: str | None, traits: Mapping[str, Any]
    ) -> None:
        """Nothing: Snowplow has no identify call (see the module docstring)."""
        del user_id, anonymous_id, traits

    def flush(self) -> None:
        """``Tracker.flush()`` until the emitter's buffer stays empty (see the module docstring)."""
        deadline = time.monotonic() + FLUSH_DEADLINE_SECONDS
        while True:
            self.tracker.flush()
            if self._buffered() == 0:
                self.tracker.flush()
                if self._buffered() == 0:
                    return
            if time.monotonic() >= deadline:
                return
            time.sleep(FLUSH_POLL_SECONDS)

    def _buffered(self) -> int:
        return int(self.emitter.event_store.size())


ADAPTER = SnowplowAdapter
