"""The server adapter for ``rudder-sdk-python`` (import ``rudderstack.analytics``).

RudderStack's Python SDK is a fork of Segment's (SEMANTICS.md 5.3) and maps the same way,
one call to one SDK call, arguments passed through unchanged: ``track`` is
``Client.track(user_id=, event=, properties=, anonymous_id=)``, ``identify`` is
``Client.identify(user_id=, traits=, anonymous_id=)`` (the SDK puts the traits in
``context.traits``), ``alias`` is ``Client.alias(previous_id=, user_id=)``.

The client is built once with ``host`` = the collector, ``sync_mode=True`` (each call
POSTs ``/v1/batch`` inside the call, with no retry; an HTTP error raises ``APIError``) and
the SDK's default gzip. No ``retries`` capability: sync mode never retries. ``threads``:
the same documented web-server use as Segment's library, one shared client.

Importing the SDK runs ``load_dotenv()``, which may copy a stray ``.env`` into
``os.environ``; the adapter restores the environment it had before the import (the SDK
keeps whatever default host it read; the adapter always passes ``host`` explicitly).
A sync-mode client has no consumer threads, so ``shutdown`` only flushes.
"""

from __future__ import annotations

import importlib
import os
from typing import Any

from conformance.adapters.protocol import AdapterKind
from conformance.adapters.python.segment import TIMEOUT_SECONDS, WRITE_KEY, SegmentAdapter
from conformance.adapters.sdk import SdkProgram, SdkSpec

DISTRIBUTION = "rudder-sdk-python"
SPEC = SdkSpec(
    name="sdk-rudderstack", kind=AdapterKind.SERVER, profile="rudderstack", distribution=DISTRIBUTION,
    import_name="rudderstack", pin="2.1.9", wire="rudderstack",
    capabilities=frozenset({"alias", "context", "exit", "identify", "identify-context", "message-id", "threads",
                            "timestamp"}),
    description="rudder-sdk-python Client in sync mode, gzipped /v1/batch.",
    request_timeout=TIMEOUT_SECONDS,
)  # fmt: skip
"""The one declaration of this adapter (see :class:`~conformance.adapters.sdk.SdkSpec`)."""


def import_sdk() -> Any:
    """Import ``rudderstack.analytics``, undoing any environment change its import made."""
    saved = dict(os.environ)
    try:
        sdk = importlib.import_module("rudderstack.analytics")  # the SDK is optional
    finally:
        for key in set(os.environ) - set(saved):
            del os.environ[key]
        for key, value in saved.items():
            if os.environ.get(key) != value:
                os.environ[key] = value
    return sdk


PROGRAM = SdkProgram(
    imports="from rudderstack.analytics import Client",
    setup=f"client = Client({WRITE_KEY!r}, host=URL, sync_mode=True, max_retries=1, timeout={TIMEOUT_SECONDS})",
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
"""The calls above as rudder-sdk-python code (reproducers that need no suite)."""

class RudderStackAdapter(SegmentAdapter):
    """rudder-sdk-python's ``Client`` in sync mode, aimed at the collector.

    The operations are Segment's (the SDK is a fork with the same signatures); only the
    client, its default gzip and the declaration differ.
    """

    SPEC = SPEC

    def _import_sdk(self) -> Any:
        return import_sdk()

    def _build_client(self, sdk: Any) -> Any:
        return sdk.Client(WRITE_KEY, host=self.url, sync_mode=True, max_retries=1, timeout=TIMEOUT_SECONDS)


ADAPTER = RudderStackAdapter
