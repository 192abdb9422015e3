"""``posthog`` (posthog-python) in its default mode: one ``Posthog`` with its background consumer.

This is how applications run the SDK (SEMANTICS.md 5.4): ``Posthog(api_key, host=...)`` with
nothing else changed, so every call only enqueues, and a consumer thread batches the queue
to ``/batch/`` (flush_at 100, flush_interval 5 s, max_retries 3, timeout 15 s; the capture
protocol is the SDK's default, V0, unless ``POSTHOG_CAPTURE_MODE`` says otherwise). With
``debug`` off (the default) a failing call is logged and swallowed by the SDK's
``@no_throw``, not raised: that is what an application gets, and the suite judges what
arrives. The sync-mode adapter (``sdk-posthog``, ``posthog.py``) is the stable baseline;
this one is the same mapping over the default delivery:

* ``track``, ``identify`` and ``alias`` are ``posthog.py``'s calls (``distinct_id`` = the
  user id, else the anonymous id);
* ``flush()`` is ``Posthog.flush()``, which asks the consumer to send a partial batch now
  and waits for the queue to drain (at most its default 10 s);
* ``shutdown()`` is ``Posthog.shutdown()``: drain, then stop the consumer.

``retries`` is not declared, for the reason ``segment_background.py`` gives.
"""

from __future__ import annotations

import importlib
from typing import Any

import attrs

from conformance.adapters.python.posthog import API_KEY, PostHogAdapter
from conformance.adapters.python.posthog import PROGRAM as SYNC_PROGRAM
from conformance.adapters.python.posthog import SPEC as SYNC_SPEC
from conformance.adapters.sdk import SdkProgram

SPEC = attrs.evolve(
    SYNC_SPEC, name="sdk-posthog-background", request_timeout=None,  # the default 15 s: past the step timeout
    description="posthog Client in its default mode: a background consumer thread batching to /batch/; "
                "distinct_id = user or anonymous id.",
)  # fmt: skip
"""The one declaration of this adapter: the sync adapter's SDK, pin and wire, another mode."""

PROGRAM = SdkProgram(
    imports=SYNC_PROGRAM.imports,
    setup=f"client = Posthog({API_KEY!r}, host=URL)",
    track=SYNC_PROGRAM.track,
    identify=SYNC_PROGRAM.identify,
    alias=SYNC_PROGRAM.alias,
    flush="client.flush()",
    shutdown="client.shutdown()",
    track_with_options=SYNC_PROGRAM.track_with_options,
)  # fmt: skip
"""The calls above as posthog code (reproducers that need no suite)."""


class PostHogBackgroundAdapter(PostHogAdapter):
    """posthog's ``Posthog`` as shipped (background consumer), aimed at the collector."""

    SPEC = SPEC

    def _start_sdk(self) -> None:
        # debug stays off, so the sync adapter's turning the posthog logger down is not needed
        self.client = self._build_client(importlib.import_module("posthog"))

    def _build_client(self, sdk: Any) -> Any:
        return sdk.Posthog(API_KEY, host=self.url)


ADAPTER = PostHogBackgroundAdapter
