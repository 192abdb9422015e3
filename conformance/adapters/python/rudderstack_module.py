"""``rudder-sdk-python`` through its module-level API, in its default (background) mode.

This is how RudderStack's documentation has applications call the SDK (SEMANTICS.md 5.3):
``import rudderstack.analytics as rudder_analytics``, set ``write_key`` and
``dataPlaneUrl`` on the module, then call ``rudder_analytics.track(...)``. The module
builds one ``Client`` lazily on the first call (``_proxy``), with the module's settings
and nothing else changed: every call only enqueues, and a background consumer batches the
queue to ``/v1/batch`` (gzip, upload_size 100, upload_interval 0.5 s), retrying a failed
upload with backoff. The sync-mode adapter (``sdk-rudderstack``, ``rudderstack.py``) is the
stable baseline; this one is the same mapping over the module's default client:

* ``track``, ``identify`` and ``alias`` are the module functions with the same arguments
  as ``rudderstack.py``'s ``Client`` calls;
* ``flush()`` is ``rudder_analytics.flush()`` (``Client.flush()``: ``queue.join()``, which
  returns once the consumer has taken every queued message);
* ``shutdown()`` is ``rudder_analytics.shutdown()`` (flush, then stop the consumer).

The module's client and settings are process-wide state: the adapter owns them from
construction to shutdown. It sets ``default_client = None`` when it starts, so that the
first call builds a client aimed at this adapter's collector, and puts back the module's
previous client and settings at shutdown. The suite builds a second adapter while the
first is open (to minimize a reproducer on a fresh SDK), and without that the first one's
later calls would go to the second one's closed collector, or into a stopped client. ``threads``: one module
client shared by a web server's request threads is the documented use. ``retries`` is not
declared, for the reason ``segment_background.py`` gives.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from conformance.adapters.python.rudderstack import SPEC as SYNC_SPEC
from conformance.adapters.python.rudderstack import import_sdk
from conformance.adapters.python.segment import WRITE_KEY
from conformance.adapters.sdk import SdkProgram, ServerSdkAdapter

SPEC = attrs.evolve(
    SYNC_SPEC, name="sdk-rudderstack-module", request_timeout=None,  # the default 15 s: past the step timeout
    description="rudder-sdk-python's module-level API (write_key, dataPlaneUrl) in its default mode: a "
                "background consumer thread, gzipped /v1/batch.",
)  # fmt: skip
"""The one declaration of this adapter: the sync adapter's SDK, pin and wire, another mode."""

PROGRAM = SdkProgram(
    imports="import rudderstack.analytics as rudder_analytics",
    setup=f"rudder_analytics.write_key = {WRITE_KEY!r}; rudder_analytics.dataPlaneUrl = URL",
    track="rudder_analytics.track(user_id={user_id}, event={event}, properties={properties}, "
          "anonymous_id={anonymous_id})",
    identify="rudder_analytics.identify(user_id={user_id}, traits={traits}, anonymous_id={anonymous_id})",
    alias="rudder_analytics.alias(previous_id={previous_id}, user_id={user_id})",
    flush="rudder_analytics.flush()",
    shutdown="rudder_analytics.shutdown()",
    track_with_options="rudder_analytics.track(user_id={user_id}, event={event}, properties={properties}, "
                       "anonymous_id={anonymous_id}, timestamp={timestamp}, message_id={message_id}, "
                       "context={context})",
    identify_with_context="rudder_analytics.identify(user_id={user_id}, traits={traits}, "
                          "anonymous_id={anonymous_id}, context={context})",
)  # fmt: skip
"""The calls above as rudder-sdk-python code (reproducers that need no suite)."""


class RudderStackModuleAdapter(ServerSdkAdapter):
    """``rudderstack.analytics``' module functions, the module's client aimed at the collector."""

    SPEC = SPEC

    def _start_sdk(self) -> None:
        self.module: Any = import_sdk()
        self._outer = (self.module.default_client, self.module.write_key, self.module.dataPlaneUrl)
        self.module.default_client = None  # the first call builds one from the settings below
        self.module.write_key = WRITE_KEY
        self.module.dataPlaneUrl = self.url

    def track(
        self,
        event: str,
        properties: Mapping[str, Any],
        *,
        user_id: str | None,
        anonymous_id: str | None,
    ) -> None:
        """``rudder_analytics.track`` with exactly this call's ids."""
        self.module.track(user_id=user_id, event=event, properties=properties, anonymous_id=anonymous_id)

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
        """``rudder_analytics.track`` with the call's own ``timestamp``, ``message_id`` and ``context``."""
        self.module.track(user_id=user_id, event=event, properties=properties, anonymous_id=anonymous_id,
                          timestamp=timestamp, message_id=message_id, context=context)  # fmt: skip

    def identify(
        self, *, user_id: str | None, anonymous_id: str | None, traits: Mapping[str, Any]
    ) -> None:
        """``rudder_analytics.identify`` with exactly this call's ids."""
        self.module.identify(user_id=user_id, traits=traits, anonymous_id=anonymous_id)

    def identify_with_context(
        self, *, user_id: str | None, anonymous_id: str | None, traits: Mapping[str, Any],
        context: dict[str, Any] | None,
    ) -> None:
        """``rudder_analytics.identify`` with the caller's own ``context`` dict."""
        self.module.identify(user_id=user_id, traits=traits, anonymous_id=anonymous_id, context=context)

    def alias(self, *, previous_id: str, user_id: str) -> None:
        """``rudder_analytics.alias``."""
        self.module.alias(previous_id=previous_id, user_id=user_id)

    def flush(self) -> None:
        """``rudder_analytics.flush()``: waits until the consumer has taken every queued call."""
        self.module.flush()

    def _release_sdk(self) -> None:
        try:
            self.module.shutdown()
        finally:  # the module as the adapter opened before this one left it
            self.module.default_client, self.module.write_key, self.module.dataPlaneUrl = self._outer


ADAPTER = RudderStackModuleAdapter
