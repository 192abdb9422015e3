"""``segment-analytics-python`` in its default mode: one ``Client`` with its background consumer.

This is how applications run the SDK (SEMANTICS.md 5.2): ``Client(write_key, host=...)``
with nothing else changed, so every call only enqueues, and a consumer thread batches the
queue to ``/v1/batch`` (upload_size 100, upload_interval 0.5 s), retrying a failed upload
with backoff. The sync-mode adapter (``sdk-segment``, ``segment.py``) is the stable baseline;
this one is the same mapping over the default delivery:

* ``track``, ``identify`` and ``alias`` are the same calls as in ``segment.py``;
* ``flush()`` is ``Client.flush()``, which returns once the consumer has taken every queued
  message (``queue.join()``), so a late delivery is a delivery finding;
* ``shutdown()`` is ``Client.shutdown()``: flush, then stop and join the consumer thread.

``retries`` is not declared: the consumer's backoff (up to ``max_total_backoff_duration``)
outlasts a step timeout, and a retry schedule that long is a fault-plan question (issue 12),
not one the machine's single refused request can answer.
"""

from __future__ import annotations

from typing import Any

import attrs

from conformance.adapters.python.segment import PROGRAM as SYNC_PROGRAM
from conformance.adapters.python.segment import SPEC as SYNC_SPEC
from conformance.adapters.python.segment import WRITE_KEY, SegmentAdapter
from conformance.adapters.sdk import SdkProgram

SPEC = attrs.evolve(
    SYNC_SPEC, name="sdk-segment-background", request_timeout=None,  # the default 15 s: past the step timeout
    description="segment-analytics-python Client in its default mode: a background consumer thread batching "
                "to /v1/batch.",
)  # fmt: skip
"""The one declaration of this adapter: the sync adapter's SDK, pin and wire, another mode."""

PROGRAM = SdkProgram(
    imports=SYNC_PROGRAM.imports,
    setup=f"client = Client({WRITE_KEY!r}, host=URL)",
    track=SYNC_PROGRAM.track,
    identify=SYNC_PROGRAM.identify,
    alias=SYNC_PROGRAM.alias,
    flush="client.flush()",
    shutdown="client.shutdown()",
    track_with_options=SYNC_PROGRAM.track_with_options,
    identify_with_context=SYNC_PROGRAM.identify_with_context,
)
"""The calls above as segment-analytics-python code (reproducers that need no suite)."""


class SegmentBackgroundAdapter(SegmentAdapter):
    """segment-analytics-python's ``Client`` as shipped (background consumer), aimed at the collector."""

    SPEC = SPEC

    def _build_client(self, sdk: Any) -> Any:
        return sdk.Client(WRITE_KEY, host=self.url)

    def _release_sdk(self) -> None:
        self.client.shutdown()


ADAPTER = SegmentBackgroundAdapter
