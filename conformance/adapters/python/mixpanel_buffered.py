"""``mixpanel`` (mixpanel-python) with a ``BufferedConsumer``, as applications batch it.

Mixpanel's documentation offers the ``BufferedConsumer`` to batch server-side calls
(SEMANTICS.md 5.5): each call appends the message to a per-endpoint buffer, which is sent
as one batch when it holds ``max_size`` (50) messages or when the application calls
``flush()``; a failed batch stays in the buffer for the next flush. Nothing is sent in the
background: delivery happens inside a track that fills the buffer, or inside ``flush()``.
The plain-consumer adapter (``sdk-mixpanel``, ``mixpanel.py``) sends each call at once;
this one is the same mapping over the buffered consumer, with its defaults (``max_size``
50, ``retry_limit`` 4, no request timeout) and only the four endpoint URLs aimed at the
collector:

* ``track``, ``identify`` and ``alias`` are ``mixpanel.py``'s calls (``alias`` still goes
  through its own plain ``Consumer``: ``Mixpanel.alias`` always builds one);
* ``flush()`` and ``shutdown()`` are ``BufferedConsumer.flush()``, which raises
  ``MixpanelException`` when a batch cannot be delivered.

No ``threads``: the ``BufferedConsumer``'s buffers have no lock, and mixpanel-python
documents no thread safety. No ``retries``: the SDK mounts its retry adapter for
``https://`` only.
"""

from __future__ import annotations

from typing import Any

import attrs

from conformance.adapters.python.mixpanel import PROGRAM as PLAIN_PROGRAM
from conformance.adapters.python.mixpanel import SPEC as PLAIN_SPEC
from conformance.adapters.python.mixpanel import TOKEN, WITH_OPTIONS_SOURCE, MixpanelAdapter
from conformance.adapters.sdk import SdkProgram

SPEC = attrs.evolve(
    PLAIN_SPEC, name="sdk-mixpanel-buffered", request_timeout=None,  # none by default: it would wait for ever
    description="mixpanel Mixpanel with a BufferedConsumer (batches of up to 50 to /track, /engage, sent "
                "on flush); distinct_id = user or anonymous id.",
)  # fmt: skip
"""The one declaration of this adapter: the plain adapter's SDK, pin and wire, another consumer."""

PROGRAM = SdkProgram(
    imports="from mixpanel import BufferedConsumer, Mixpanel",
    setup=(f"consumer = BufferedConsumer(events_url=URL + '/track', people_url=URL + '/engage'); "
           f"client = Mixpanel({TOKEN!r}, consumer=consumer)" + WITH_OPTIONS_SOURCE),
    track=PLAIN_PROGRAM.track,
    track_with_options=PLAIN_PROGRAM.track_with_options,
    identify=PLAIN_PROGRAM.identify,
    flush="consumer.flush()",
)  # fmt: skip
"""The calls above as mixpanel code (reproducers that need no suite; alias is left out, as it
builds its own Consumer)."""


class MixpanelBufferedAdapter(MixpanelAdapter):
    """mixpanel-python's ``Mixpanel`` with a loopback ``BufferedConsumer``."""

    SPEC = SPEC

    def _build_consumer(self, sdk: Any) -> Any:
        return sdk.BufferedConsumer(
            events_url=f"{self.url}/track", people_url=f"{self.url}/engage",
            groups_url=f"{self.url}/groups", import_url=f"{self.url}/import",
        )  # fmt: skip

    def flush(self) -> None:
        """``BufferedConsumer.flush()``: every buffered message, in batches; raises on failure."""
        self.consumer.flush()


ADAPTER = MixpanelBufferedAdapter
