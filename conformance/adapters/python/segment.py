"""The server adapter for ``segment-analytics-python`` (import ``segment.analytics``).

Mapping (SEMANTICS.md 5.2), one call to one SDK call, arguments passed through unchanged:

* ``track(event, properties, user_id=, anonymous_id=)`` is
  ``Client.track(user_id=, event=, properties=, anonymous_id=)``;
* ``identify(user_id=, anonymous_id=, traits=)`` is ``Client.identify(...)``;
* ``alias(previous_id=, user_id=)`` is ``Client.alias(previous_id=, user_id=)``;
* ``track_with_options(..., timestamp=, message_id=, context=)`` is ``Client.track`` with those
  three keyword arguments as given (the caller's context dict itself, as applications pass it).

The client is built once, with ``host`` = the collector and ``sync_mode=True``: each call
POSTs ``/v1/batch`` inside the call, with no retry, and a delivery error raises
(``APIError`` or a ``requests`` exception). So the adapter declares no ``retries`` (the
threaded mode retries, sync mode does not). ``threads``: Segment documents its server
libraries for use in web-server controller code, one shared client for all requests.
A sync-mode client starts no consumer threads; ``join()`` (and so ``shutdown()``) would
fail on it, so ``shutdown`` only flushes.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from conformance.adapters.protocol import AdapterKind
from conformance.adapters.sdk import SdkProgram, SdkSpec, ServerSdkAdapter

DISTRIBUTION = "segment-analytics-python"
TIMEOUT_SECONDS = 2
"""The request timeout the adapter gives the SDK (declared: the suite's ``slow`` faults answer past it)."""
SPEC = SdkSpec(
    name="sdk-segment", kind=AdapterKind.SERVER, profile="segment", distribution=DISTRIBUTION,
    import_name="segment", pin="2.4.0", wire="segment",
    capabilities=frozenset({"alias", "context", "exit", "identify", "identify-context", "message-id", "threads",
                            "timestamp"}),
    description="segment-analytics-python Client in sync mode, posting /v1/batch.",
    request_timeout=TIMEOUT_SECONDS,
)  # fmt: skip
"""The one declaration of this adapter (see :class:`~conformance.adapters.sdk.SdkSpec`)."""
WRITE_KEY = "identity-conformance"


PROGRAM = SdkProgram(
    imports="from segment.analytics import Client",
    setup=f"client = Client({WRITE_KEY!r}, host=URL, sync_mode=True, gzip=False, max_retries=1, "
          f"timeout={TIMEOUT_SECONDS})",
    track="client.track(user_id={user_id}, event={event}, properties={properties}, anonymous_id={anonymous_id})",
    identify="client.identify(user_id={user_id}, traits={traits}, anonymous_id={anonymous_id})",
    alias="client.alias(previous_id={previous_id}, user_id={user_id})",
    flush="client.flush()",
    track_with_options="client.track(user_id={user_id}, event={event}, properties={properties}, "
                       "anonymous_id={anonymous_id}, timestamp={timestamp}, message_id={message_id}, "
                       "context={context})",
    identify_with_context="client.identify(user_id={user_id}, traits={traits}, anonymous_id={anonymous_id}, "
                          "context={context})",
)  # fmt: skip
"""The calls above as segment-analytics-python code (reproducers that need no suite)."""

class SegmentAdapter(ServerSdkAdapter):
    """segment-analytics-python's ``Client`` in sync mode, aimed at the collector."""

    SPEC = SPEC

    def _start_sdk(self) -> None:
        self.client = self._build_client(self._import_sdk())

    def _import_sdk(self) -> Any:
        return importlib.import_module("segment.analytics")  # the SDK is optional: import it here

    def _build_client(self, sdk: Any) -> Any:
        return sdk.Client(
            WRITE_KEY, host=self.url, sync_mode=True, gzip=False,
            max_retries=1, timeout=TIMEOUT_SECONDS,
        )  # fmt: skip

    def track(
        self,
        event: str,
        properties: Mapping[str, Any],
        *,
        user_id: str | None,
        anonymous_id: str | None,
    ) -> None:
        """``Client.track`` with exactly this call's ids."""
        self.client.track(
            user_id=user_id, event=event, properties=properties, anonymous_id=anonymous_id
        )

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
        """``Client.track`` with the call's own ``timestamp``, ``message_id`` and ``context``."""
        self.client.track(
            user_id=user_id, event=event, properties=properties, anonymous_id=anonymous_id,
            timestamp=timestamp, message_id=message_id, context=context,
        )  # fmt: skip

    def identify(
        self, *, user_id: str | None, anonymous_id: str | None, traits: Mapping[str, Any]
    ) -> None:
        """``Client.identify`` with exactly this call's ids."""
        self.client.identify(user_id=user_id, traits=traits, anonymous_id=anonymous_id)

    def identify_with_context(
        self, *, user_id: str | None, anonymous_id: str | None, traits: Mapping[str, Any],
        context: dict[str, Any] | None,
    ) -> None:
        """``Client.identify`` with the caller's own ``context`` dict."""
        self.client.identify(user_id=user_id, traits=traits, anonymous_id=anonymous_id, context=context)

    def alias(self, *, previous_id: str, user_id: str) -> None:
        """``Client.alias``."""
        self.client.alias(previous_id=previous_id, user_id=user_id)

    def flush(self) -> None:
        """``Client.flush()`` (sync mode has already delivered every call)."""
        self.client.flush()


ADAPTER = SegmentAdapter
