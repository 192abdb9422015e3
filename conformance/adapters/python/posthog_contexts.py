"""``posthog`` (posthog-python) with context-scoped identity, as its web-framework integrations use it.

PostHog's server SDK can carry identity on a context instead of on each call (SEMANTICS.md
5.4): a request handler enters ``posthog.new_context()``, calls
``posthog.identify_context(distinct_id)``, and code inside the request calls ``capture``
with no ``distinct_id``; the SDK takes it from the context (a ``contextvars`` stack, so each
thread and asyncio task has its own). The Django middleware enters such a context per
request (``new_context(client=...)``, not fresh). Each suite call is one such request:

* ``track(event, properties, ...)`` is ``with new_context(client=client):
  identify_context(distinct_id)`` (skipped when there is no id) then
  ``client.capture(event, properties=properties)``;
* ``identify(..., traits=)`` is the same context around ``client.set(properties=traits)``;
* ``alias`` is ``posthog.py``'s (it names both ids itself);
* ``track_async`` is ``track`` from an asyncio task, awaiting between ``identify_context``
  and ``capture`` as an async handler (FastAPI, Django async views) does: many run on one
  event loop (capability ``asyncio-tasks``).

``distinct_id`` is ``posthog.py``'s mapping: the user id if given, else the anonymous id.
The client is the SDK's default (``posthog_background.py``): a background consumer, debug
off. What this adapter adds to the sync and default ones is the context: whether an
identity set for one request stays inside it (no carry-over into the next call on the same
worker thread, none across threads) and whether the context changes what the caller passed.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import attrs

from conformance.adapters.python.posthog import PROGRAM as SYNC_PROGRAM
from conformance.adapters.python.posthog import SPEC as SYNC_SPEC
from conformance.adapters.python.posthog import distinct_id_for
from conformance.adapters.python.posthog_background import PROGRAM as BACKGROUND_PROGRAM
from conformance.adapters.python.posthog_background import PostHogBackgroundAdapter
from conformance.adapters.sdk import SdkProgram

SPEC = attrs.evolve(
    SYNC_SPEC, name="sdk-posthog-contexts", request_timeout=None,  # the default 15 s: past the step timeout
    capabilities=SYNC_SPEC.capabilities | {"asyncio-tasks"},
    description="posthog default Client, identity on a context per call (new_context + identify_context, "
                "capture without distinct_id), as the Django middleware does.",
)  # fmt: skip
"""The one declaration of this adapter: the sync adapter's SDK, pin and wire, context identity."""

_IN_CONTEXT = ("with posthog.new_context(client=client):\n"
               "    distinct_id = {distinct_id}\n"
               "    if distinct_id is not None:\n"
               "        posthog.identify_context(distinct_id)\n")  # fmt: skip

PROGRAM = SdkProgram(
    imports="import posthog\nfrom posthog import Posthog",
    setup=BACKGROUND_PROGRAM.setup,
    track=_IN_CONTEXT + "    client.capture({event}, properties={properties})",
    identify=_IN_CONTEXT + "    client.set(properties={traits})",
    alias=SYNC_PROGRAM.alias,
    flush="client.flush()",
    shutdown="client.shutdown()",
    track_with_options=_IN_CONTEXT + "    client.capture({event}, properties={properties}, timestamp={timestamp}, "
                                     "uuid={message_id})",
)  # fmt: skip
"""The calls above as posthog code (reproducers that need no suite)."""


class PostHogContextsAdapter(PostHogBackgroundAdapter):
    """posthog's default ``Posthog``, each call inside a ``new_context()`` that carries its identity."""

    SPEC = SPEC

    def _start_sdk(self) -> None:
        super()._start_sdk()
        self._posthog: Any = importlib.import_module("posthog")

    def track(
        self,
        event: str,
        properties: Mapping[str, Any],
        *,
        user_id: str | None,
        anonymous_id: str | None,
    ) -> None:
        """``capture(event, properties=)`` with no ``distinct_id``, in a context identified by it."""
        with self._posthog.new_context(client=self.client):
            distinct_id = distinct_id_for(user_id, anonymous_id)
            if distinct_id is not None:
                self._posthog.identify_context(distinct_id)
            self.client.capture(event, properties=properties)

    async def track_async(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
                          anonymous_id: str | None) -> None:  # fmt: skip
        """``track`` as an async handler makes it: the context identified, an await, then ``capture``.

        The await stands for the handler's own (its database, another service): other tasks
        on the loop run there, each inside a context of its own.
        """
        with self._posthog.new_context(client=self.client):
            distinct_id = distinct_id_for(user_id, anonymous_id)
            if distinct_id is not None:
                self._posthog.identify_context(distinct_id)
            await asyncio.sleep(0)
            self.client.capture(event, properties=properties)

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
        """``capture`` with ``timestamp=`` and ``uuid=``, in a context identified by the call's id."""
        del context  # never given: the adapter declares no ``context``
        with self._posthog.new_context(client=self.client):
            distinct_id = distinct_id_for(user_id, anonymous_id)
            if distinct_id is not None:
                self._posthog.identify_context(distinct_id)
            self.client.capture(event, properties=properties, timestamp=timestamp, uuid=message_id)

    def identify(
        self, *, user_id: str | None, anonymous_id: str | None, traits: Mapping[str, Any]
    ) -> None:
        """``set(properties=traits)`` with no ``distinct_id``, in a context identified by it."""
        with self._posthog.new_context(client=self.client):
            distinct_id = distinct_id_for(user_id, anonymous_id)
            if distinct_id is not None:
                self._posthog.identify_context(distinct_id)
            self.client.set(properties=traits)


ADAPTER = PostHogContextsAdapter
