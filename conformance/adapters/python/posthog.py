"""The server adapter for ``posthog`` (posthog-python).

PostHog's server API names a person by one ``distinct_id``; it has no separate anonymous
id and no ``identify()`` (SEMANTICS.md 5.4). The adapter's documented mapping:

* **ids**: ``distinct_id`` = ``user_id`` if given, else ``anonymous_id``. When both are
  given, ``user_id`` wins and the anonymous id is **not sent**: a capture has no field for
  it, and linking the two ids is PostHog's separate ``alias`` call, which the suite's
  server calls do not include. When neither is given, ``distinct_id=None`` is passed as is
  (the SDK then decides what to do).
* ``track(event, properties, ...)`` is ``capture(event, distinct_id=, properties=)``;
* ``identify(..., traits=)`` is ``set(distinct_id=, properties=traits)``, PostHog's
  server-side way to set person properties (a ``$set`` event);
* ``alias(previous_id=, user_id=)`` is ``alias(previous_id, distinct_id=user_id)``.

The caller's dicts are passed as given. The client is built once with ``host`` = the
collector, ``sync_mode=True`` (one POST to ``/batch/`` per call, no retry), the V0 capture
protocol pinned (``POSTHOG_CAPTURE_MODE`` cannot switch it) and ``debug=True`` so that a
failure raises instead of being logged and swallowed by ``@no_throw``; ``debug`` also
sets the ``posthog`` logger to DEBUG, which the adapter turns back down to WARNING. No
``retries`` capability (sync mode does not retry); ``threads``: PostHog documents one
client per application, shared by its request threads.
"""

from __future__ import annotations

import importlib
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from conformance.adapters.protocol import AdapterKind
from conformance.adapters.sdk import SdkProgram, SdkSpec, ServerSdkAdapter

DISTRIBUTION = "posthog"
TIMEOUT_SECONDS = 2
"""The request timeout the adapter gives the SDK (declared: the suite's ``slow`` faults answer past it)."""
SPEC = SdkSpec(
    name="sdk-posthog", kind=AdapterKind.SERVER, profile="posthog", distribution=DISTRIBUTION,
    import_name="posthog", pin="7.91.1", wire="posthog",
    capabilities=frozenset({"alias", "exit", "identify", "message-id", "threads", "timestamp"}),
    description="posthog Client in sync mode (capture v0, /batch/); distinct_id = user or anonymous id.",
    request_timeout=TIMEOUT_SECONDS,
)  # fmt: skip
"""The one declaration of this adapter (see :class:`~conformance.adapters.sdk.SdkSpec`)."""
API_KEY = "phc_identity_conformance"


def distinct_id_for(user_id: str | None, anonymous_id: str | None) -> str | None:
    """The adapter's id mapping: the user id if given, else the anonymous id (maybe None)."""
    return user_id if user_id is not None else anonymous_id


PROGRAM = SdkProgram(
    imports="from posthog import Posthog",
    setup=f"client = Posthog({API_KEY!r}, host=URL, sync_mode=True, gzip=False, max_retries=1, "
          f"timeout={TIMEOUT_SECONDS}, capture_mode='v0')",
    # The adapter's one id: the user id if given, else the anonymous id (distinct_id_for).
    track="client.capture({event}, distinct_id={distinct_id}, "
          "properties={properties})",
    identify="client.set(distinct_id={distinct_id}, properties={traits})",
    alias="client.alias({previous_id}, distinct_id={user_id})",
    flush="client.flush()",
    shutdown="client.shutdown()",
    track_with_options="client.capture({event}, distinct_id={distinct_id}, properties={properties}, "
                       "timestamp={timestamp}, uuid={message_id})",
)  # fmt: skip
"""The calls above as posthog code (reproducers that need no suite)."""

class PostHogAdapter(ServerSdkAdapter):
    """posthog's ``Posthog`` client in sync mode, aimed at the collector."""

    SPEC = SPEC

    def _start_sdk(self) -> None:
        sdk = importlib.import_module("posthog")  # the SDK is optional: import it here
        self.client = self._build_client(sdk)
        logging.getLogger("posthog").setLevel(logging.WARNING)

    def _build_client(self, sdk: Any) -> Any:
        return sdk.Posthog(
            API_KEY, host=self.url, sync_mode=True, debug=True, gzip=False,
            max_retries=1, timeout=TIMEOUT_SECONDS, capture_mode="v0",
        )  # fmt: skip

    def track(
        self,
        event: str,
        properties: Mapping[str, Any],
        *,
        user_id: str | None,
        anonymous_id: str | None,
    ) -> None:
        """``capture`` with ``distinct_id`` = the user id, else the anonymous id."""
        self.client.capture(
            event, distinct_id=distinct_id_for(user_id, anonymous_id), properties=properties
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
        """``capture`` with ``timestamp=`` and ``uuid=`` (its message id); posthog takes no context."""
        del context  # never given: the adapter declares no ``context``
        self.client.capture(event, distinct_id=distinct_id_for(user_id, anonymous_id), properties=properties,
                            timestamp=timestamp, uuid=message_id)  # fmt: skip

    def identify(
        self, *, user_id: str | None, anonymous_id: str | None, traits: Mapping[str, Any]
    ) -> None:
        """``set`` (a ``$set`` event) with ``distinct_id`` = the user id, else the anonymous id."""
        self.client.set(distinct_id=distinct_id_for(user_id, anonymous_id), properties=traits)

    def alias(self, *, previous_id: str, user_id: str) -> None:
        """``alias(previous_id, distinct_id=user_id)`` (a ``$create_alias`` event)."""
        self.client.alias(previous_id, distinct_id=user_id)

    def flush(self) -> None:
        """``flush()`` (sync mode has already delivered every call)."""
        self.client.flush()

    def _release_sdk(self) -> None:
        self.client.shutdown()  # the SDK's own: flush, then stop its workers


ADAPTER = PostHogAdapter
