"""The built-in adapter around the reference SDK, delivering in-process to the collector."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from conformance._errors import DeliveryFailedError
from conformance.adapters.protocol import EXIT_PROBE_DONE, AdapterInfo, AdapterKind, ServerCall
from conformance.collector.store import Collector
from simulator import DeliveryError, Event, ReferenceClient, ReferenceSDK, get_profile
from simulator._profiles import IdModel

REFERENCE_CAPABILITIES = frozenset({"alias", "asyncio-tasks", "context", "identify", "identify-context", "message-id",
                                    "persistence", "reset", "retries", "threads", "timestamp"})  # fmt: skip
REQUEST_TIMEOUT_SECONDS = 1.0
"""The reference's declared request timeout: in process a ``slow`` fault fails its delivery at
once (over JSON lines ``jsonl_child --request-timeout`` declares the HTTP timeout of its posts)."""


class ReferenceAdapter:
    """The reference SDK as an adapter: passes under every profile, by construction and by test."""

    def __init__(self, collector: Collector, profile: str = "seed", seed: int = 0) -> None:
        self.profile = get_profile(profile)
        self.collector = collector
        self.sdk = ReferenceSDK(profile=self.profile, seed=seed, deliver=self._deliver)
        capabilities = REFERENCE_CAPABILITIES
        if not self.profile.alias_supported:
            capabilities = capabilities - {"alias"}
        if self.profile.id_model is IdModel.DUAL:  # its exit program posts Segment batches
            capabilities = capabilities | {"exit"}
        self._info = AdapterInfo(
            name="reference",
            kind=AdapterKind.BOTH,
            profile=self.profile.name,
            sdk_name="identity-conformance reference SDK",
            sdk_version=_own_version(),
            capabilities=capabilities,
            description="The reference simulator's SDK; correct under every profile.",
            request_timeout=REQUEST_TIMEOUT_SECONDS,
        )

    @property
    def info(self) -> AdapterInfo:
        """What this adapter declares."""
        return self._info

    def _deliver(self, events: list[Event]) -> None:
        try:
            self.collector.ingest(events)
        except DeliveryFailedError as exc:
            raise DeliveryError(str(exc)) from exc

    EXIT_HOOK = "atexit.register(adapter.flush)"
    """What the reference SDK does at exit: deliver what is queued (a mutant changes this line)."""

    def exit_program(self, calls: Sequence[ServerCall]) -> str:
        """The calls through this adapter in a child process, posting Segment batches to the collector.

        The child builds the same adapter by name (``reference`` or a mutant's) as the
        JSON-lines child does, makes the calls, and ends; ``EXIT_HOOK`` is its exit hook.
        """
        lines = [
            "import atexit",
            "from conformance.adapters.jsonl_child import SegmentPoster, build_adapter",
            f"adapter = build_adapter({self.info.name!r}, SegmentPoster(target={self.collector.url_for(None)!r}), "
            f"{self.profile.name!r})",
            self.EXIT_HOOK,
        ]
        lines += [f"adapter.track({c.event!r}, {dict(c.properties)!r}, user_id={c.user_id!r}, "
                  f"anonymous_id={c.anonymous_id!r})" for c in calls]  # fmt: skip
        lines.append(f"print({EXIT_PROBE_DONE!r}, flush=True)")
        return "\n".join(lines) + "\n"

    def open_client(self, storage_key: str) -> ReferenceClient:
        """A reference client on ``storage_key``."""
        return self.sdk.open_client(storage_key)

    def track(
        self,
        event: str,
        properties: Mapping[str, Any],
        *,
        user_id: str | None,
        anonymous_id: str | None,
    ) -> None:
        """Server-side track."""
        self.sdk.server.track(event, properties, user_id=user_id, anonymous_id=anonymous_id)

    async def track_async(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
                          anonymous_id: str | None) -> None:  # fmt: skip
        """Server-side track from an asyncio task: the reference keeps no identity to set first."""
        await asyncio.sleep(0)  # the handler's await: other tasks run here
        self.track(event, properties, user_id=user_id, anonymous_id=anonymous_id)

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
        """Server-side track with the call's own timestamp, message id and context."""
        self.sdk.server.track(event, properties, user_id=user_id, anonymous_id=anonymous_id,
                              timestamp=timestamp, message_id=message_id, context=context)  # fmt: skip

    def identify(
        self, *, user_id: str | None, anonymous_id: str | None, traits: Mapping[str, Any]
    ) -> None:
        """Server-side identify."""
        self.sdk.server.identify(user_id, traits, anonymous_id=anonymous_id)

    def identify_with_context(
        self, *, user_id: str | None, anonymous_id: str | None, traits: Mapping[str, Any],
        context: dict[str, Any] | None,
    ) -> None:
        """Server-side identify with the call's own context."""
        self.sdk.server.identify(user_id, traits, anonymous_id=anonymous_id, context=context)

    def alias(self, *, previous_id: str, user_id: str) -> None:
        """Server-side alias."""
        self.sdk.server.alias(previous_id, user_id)

    def flush(self) -> None:
        """Deliver everything pending."""
        self.sdk.flush()

    def shutdown(self) -> None:
        """Flush; nothing else to release."""
        self.sdk.flush()


def _own_version() -> str:
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version("identity-conformance")
    except PackageNotFoundError:
        return "0+unknown"
