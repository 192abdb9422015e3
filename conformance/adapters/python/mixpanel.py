"""The server adapter for ``mixpanel`` (mixpanel-python).

Mixpanel's server API names a person by one ``distinct_id`` that ``track`` takes
positionally (SEMANTICS.md 5.5). The adapter's documented mapping:

* **ids**: ``distinct_id`` = ``user_id`` if given, else ``anonymous_id``. When both are
  given, ``user_id`` wins and the anonymous id is **not sent**: the only ways to carry it
  are Mixpanel's reserved ``$device_id``/``$user_id`` properties (which would mean
  rewriting the caller's properties) or a separate ``alias``/``merge`` call. When neither
  is given, ``distinct_id=None`` is passed as is (the SDK then decides what to do).
* ``track(event, properties, ...)`` is ``Mixpanel.track(distinct_id, event, properties)``;
* ``identify(..., traits=)`` is ``people_set(distinct_id, traits)``, the server-side
  profile update (``/engage`` with ``$set``);
* ``track_with_options`` (capabilities ``timestamp`` and ``message-id``) is ``track`` with
  the caller's time as the ``time`` property (epoch seconds, as the SDK's own default) and
  its message id as ``$insert_id``, Mixpanel's dedup key: ``track`` has no arguments for
  them, and callers set them in the properties as Mixpanel's docs show;
* ``alias(previous_id=, user_id=)`` is ``Mixpanel.alias(user_id, previous_id)``.
  ``Mixpanel.alias`` ignores the configured consumer and always builds a default
  ``Consumer()`` aimed at the vendor's host; the adapter swaps ``mixpanel.Consumer`` for
  the duration of the call so that the request goes to the collector (SEMANTICS.md 5.5).

The caller's dicts are passed as given. One ``Mixpanel`` object with a plain ``Consumer``
whose four URLs point at the collector: every call is one synchronous POST made in the
calling thread, and a failure raises ``MixpanelException``. There is nothing to flush. No
``retries`` capability (the SDK mounts its retry adapter for ``https://`` only, so the
plain-http collector gets exactly one attempt) and no ``threads`` (mixpanel-python
documents no thread safety; its consumer shares one ``requests`` session).
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from conformance.adapters.protocol import AdapterKind
from conformance.adapters.sdk import SdkProgram, SdkSpec, ServerSdkAdapter

DISTRIBUTION = "mixpanel"
TIMEOUT_SECONDS = 2
"""The request timeout the adapter gives the SDK (declared: the suite's ``slow`` faults answer past it)."""
SPEC = SdkSpec(
    name="sdk-mixpanel", kind=AdapterKind.SERVER, profile="mixpanel", distribution=DISTRIBUTION,
    import_name="mixpanel", pin="5.4.1", wire="mixpanel",
    capabilities=frozenset({"alias", "exit", "identify", "message-id", "timestamp"}),
    description="mixpanel Mixpanel with a plain Consumer (/track, /engage); distinct_id = user or anonymous id.",
    request_timeout=TIMEOUT_SECONDS,
)  # fmt: skip
"""The one declaration of this adapter (see :class:`~conformance.adapters.sdk.SdkSpec`)."""
TOKEN = "identity-conformance-token"  # noqa: S105  (a dummy project token for the loopback collector)

_ALIAS_LOCK = threading.Lock()
"""Serialises the temporary swap of ``mixpanel.Consumer`` during ``alias``."""


def distinct_id_for(user_id: str | None, anonymous_id: str | None) -> str | None:
    """The adapter's id mapping: the user id if given, else the anonymous id (maybe None)."""
    return user_id if user_id is not None else anonymous_id


def with_options(properties: Mapping[str, Any], timestamp: datetime | None, message_id: str | None) -> dict[str, Any]:
    """The caller's properties with Mixpanel's ``time`` (epoch seconds) and ``$insert_id``, each when given.

    Mixpanel's ``track`` has no arguments for them: callers put them in the properties, which
    the SDK merges over its own defaults (``time.time()`` and a random hex insert id).
    """
    merged = dict(properties)
    if timestamp is not None:
        merged["time"] = timestamp.timestamp()
    if message_id is not None:
        merged["$insert_id"] = message_id
    return merged


WITH_OPTIONS_SOURCE = (
    "\n\n\ndef with_options(properties, timestamp, message_id):\n"
    "    merged = dict(properties)\n"
    "    if timestamp is not None:\n"
    "        merged['time'] = timestamp.timestamp()\n"
    "    if message_id is not None:\n"
    "        merged['$insert_id'] = message_id\n"
    "    return merged"
)
"""``with_options`` as program text (a program imports nothing of the suite)."""

PROGRAM = SdkProgram(
    imports="from mixpanel import Consumer, Mixpanel",
    setup=(f"client = Mixpanel({TOKEN!r}, consumer=Consumer(events_url=URL + '/track', "
           f"people_url=URL + '/engage', request_timeout={TIMEOUT_SECONDS}, retry_limit=1))" + WITH_OPTIONS_SOURCE),
    # The adapter's one id: the user id if given, else the anonymous id (distinct_id_for).
    track="client.track({distinct_id}, {event}, {properties})",
    track_with_options="client.track({distinct_id}, {event}, with_options({properties}, {timestamp}, {message_id}))",
    identify="client.people_set({distinct_id}, {traits})",
    flush="pass  # the default Consumer sends each call at once",
)  # fmt: skip
"""The calls above as mixpanel code (reproducers that need no suite; alias is left out, as it
builds its own Consumer)."""

class MixpanelAdapter(ServerSdkAdapter):
    """mixpanel-python's ``Mixpanel`` with a loopback ``Consumer``."""

    SPEC = SPEC

    def _start_sdk(self) -> None:
        self._sdk: Any = importlib.import_module("mixpanel")  # the SDK is optional: import it here
        self.consumer = self._build_consumer(self._sdk)
        self.client = self._sdk.Mixpanel(TOKEN, consumer=self.consumer)

    def _build_consumer(self, sdk: Any) -> Any:
        return self._consumer(sdk.Consumer)

    def _consumer(self, consumer_class: Any) -> Any:
        """A plain ``Consumer`` whose four endpoint URLs are the collector's."""
        return consumer_class(
            events_url=f"{self.url}/track", people_url=f"{self.url}/engage",
            groups_url=f"{self.url}/groups", import_url=f"{self.url}/import",
            request_timeout=TIMEOUT_SECONDS, retry_limit=1,
        )  # fmt: skip

    def track(
        self,
        event: str,
        properties: Mapping[str, Any],
        *,
        user_id: str | None,
        anonymous_id: str | None,
    ) -> None:
        """``Mixpanel.track`` with ``distinct_id`` = the user id, else the anonymous id."""
        self.client.track(distinct_id_for(user_id, anonymous_id), event, properties)

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
        """``Mixpanel.track`` with the timestamp as ``time`` and the message id as ``$insert_id`` properties."""
        del context  # never given: Mixpanel's track takes no context
        self.client.track(distinct_id_for(user_id, anonymous_id), event, with_options(properties, timestamp, message_id))

    def identify(
        self, *, user_id: str | None, anonymous_id: str | None, traits: Mapping[str, Any]
    ) -> None:
        """``people_set`` with ``distinct_id`` = the user id, else the anonymous id."""
        self.client.people_set(distinct_id_for(user_id, anonymous_id), traits)

    def alias(self, *, previous_id: str, user_id: str) -> None:
        """``Mixpanel.alias(user_id, previous_id)``, its private consumer aimed at the collector."""
        sdk = self._sdk
        with _ALIAS_LOCK:
            original = sdk.Consumer
            sdk.Consumer = lambda: self._consumer(original)
            try:
                self.client.alias(user_id, previous_id)
            finally:
                sdk.Consumer = original

    def flush(self) -> None:
        """Nothing to do: a plain ``Consumer`` sends inside every call."""


ADAPTER = MixpanelAdapter
