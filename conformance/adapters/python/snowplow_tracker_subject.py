"""``snowplow-tracker`` with a tracker-level ``Subject``, built the way its quick start builds it.

``Snowplow.create_tracker(namespace, endpoint, subject=Subject())`` (SEMANTICS.md 5.7) with
the emitter it makes by default: a synchronous ``Emitter`` that buffers ``batch_size`` (10)
events and sends them in the calling thread when the buffer is full, or on ``flush()``;
a failed request is retried on a timer (up to ``max_retry_delay_seconds``, 60 s by default).
Identity lives on the tracker's one ``Subject``, as in an application that tracks one user
at a time: each call sets ``set_user_id(user_id)`` and ``set_domain_user_id(anonymous_id)``
on it (``None`` as is) and then tracks with no per-event subject. The per-event adapter
(``sdk-snowplow``, ``snowplow.py``) is the multi-user mapping; this one asks whether a
tracker-level subject carries one call's ids into the next (``set_user_id(None)`` must
clear it) and whether the default batching loses or repeats anything.

* ``track`` is ``snowplow.py``'s self-describing event, without ``event_subject``;
* ``identify`` sends nothing, as in ``snowplow.py``;
* ``flush()`` is ``snowplow.py``'s (``Tracker.flush()`` until the buffer stays empty).

No ``threads``: one tracker-level subject is shared state, set before each call, so
concurrent calls would race in the mapping itself, not in the SDK. Each adapter registers
its tracker under a namespace of its own and removes it at shutdown (the registry refuses
a second tracker with the same namespace, and the suite opens a second adapter to minimize
a reproducer while the first is open).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import attrs

from conformance.adapters.python.snowplow import NAMESPACE, SnowplowAdapter, schema_for
from conformance.adapters.python.snowplow import SPEC as EVENT_SUBJECT_SPEC

SPEC = attrs.evolve(
    EVENT_SUBJECT_SPEC, name="sdk-snowplow-tracker-subject", request_timeout=None,  # none by default: it would wait for ever
    capabilities=EVENT_SUBJECT_SPEC.capabilities - {"threads"},
    description="snowplow-tracker Snowplow.create_tracker(subject=Subject()) with its default Emitter "
                "(batch_size 10); each call sets uid/duid on the tracker's one Subject.",
)  # fmt: skip
"""The one declaration of this adapter: the per-event adapter's SDK, pin and wire, another subject."""

_NAMESPACES = itertools.count(1)


class SnowplowTrackerSubjectAdapter(SnowplowAdapter):
    """snowplow-tracker's ``create_tracker`` with a tracker-level ``Subject``, aimed at the collector."""

    SPEC = SPEC

    def _build_tracker(self, sdk: Any) -> Any:
        return sdk.Snowplow.create_tracker(f"{NAMESPACE}-{next(_NAMESPACES)}", self.url, subject=sdk.Subject())

    def _track(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
               anonymous_id: str | None, true_timestamp: int | None) -> None:  # fmt: skip
        """A self-describing event; the tracker's Subject set to this call's ``uid``/``duid`` first."""
        sdk = self._sdk
        self.tracker.subject.set_user_id(user_id).set_domain_user_id(anonymous_id)
        data = sdk.SelfDescribingJson(schema_for(event), properties)
        self.tracker.track(sdk.SelfDescribing(data, true_timestamp=true_timestamp))

    def _release_sdk(self) -> None:
        try:
            self.flush()
        finally:
            self._sdk.Snowplow.remove_tracker(self.tracker)


ADAPTER = SnowplowTrackerSubjectAdapter
