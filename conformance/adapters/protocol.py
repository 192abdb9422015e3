"""The adapter contract: how the suite drives an SDK. A Protocol, never a base class.

Wrap a new SDK in about 60 lines: a class with an ``info`` record, the client and/or
server operations below, ``flush`` and ``shutdown``; and a factory that takes the
:class:`~conformance.Collector` and points the SDK at ``collector.url`` (or, for an
in-process SDK, delivers canonical events to ``collector.ingest``). The suite never asks
the adapter what it sent: it reads what reached the collector.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Protocol

import attrs

if TYPE_CHECKING:
    from datetime import datetime

    from conformance.collector.store import Collector


class AdapterKind(str, enum.Enum):
    """Which half of the seed an SDK implements."""

    CLIENT = "client"
    SERVER = "server"
    BOTH = "both"

    @property
    def client(self) -> bool:
        """Whether the client machine applies."""
        return self is not AdapterKind.SERVER

    @property
    def server(self) -> bool:
        """Whether the server machine applies."""
        return self is not AdapterKind.CLIENT


CAPABILITY_DOCS = {
    "context": "server `track_with_options` passes a `context` dict (ip, locale, campaign...) to the SDK's "
               "own context argument",
    "alias": "the SDK has alias (client: `ClientSession.alias`; server: `Adapter.alias`)",
    "asyncio-tasks": "server `track_async` makes track's call from an asyncio task (an async request handler), "
                     "awaiting between setting the call's identity and the call where the SDK's API has one (with "
                     "`threads`, whose requirement checks the tasks too)",
    "exit": "the adapter writes its server calls as a standalone program (`exit_program`) that the "
            "suite runs in a child process, to see what the SDK delivers at exit and how long exit takes",
    "message-id": "server `track_with_options` passes a caller's `message_id` (the dedup key) to the SDK's "
                  "own argument for it",
    "timestamp": "server `track_with_options` passes a `timestamp` (an aware datetime: when it happened) to "
                 "the SDK's own argument for it",
    "identify": "a server SDK has identify (`Adapter.identify`); client identify is always required",
    "identify-context": "server `identify_with_context` passes a `context` dict (ip, locale, campaign...) to "
                        "the SDK's identify, as its own context argument",
    "persistence": "a client reopened on the same storage key resumes its stored identity",
    "reset": "the client SDK has logout/reset (`ClientSession.reset`)",
    "retries": "the SDK retries a failed delivery (the collector then refuses one on purpose)",
    "threads": "one SDK instance may be called from many threads at once",
}
"""What declaring each capability promises; ``capability_table()`` adds the rules each gates."""
CAPABILITIES = frozenset(CAPABILITY_DOCS)
CALL_OPTIONS = {"timestamp": "timestamp", "message-id": "message_id", "context": "context"}
"""The capabilities of ``track_with_options``, each with the keyword argument it passes."""
SERVER_CALL_OPTIONS = frozenset({*CALL_OPTIONS, "identify-context"})
"""The capabilities of the server calls with options (``track_with_options``, ``identify_with_context``)."""
"""Optional operations an adapter may declare; rules needing a missing one are skipped."""


def capability_table() -> str:
    """A Markdown table: each capability, what it promises, and the requirements it gates."""
    from conformance._requirements import REQUIREMENTS  # noqa: PLC0415

    lines = ["| capability | declare it when | requirements it gates (skipped without it) |",
             "|---|---|---|"]  # fmt: skip
    for name, doc in sorted(CAPABILITY_DOCS.items()):
        gated = ", ".join(f"`{r.id}`" for r in REQUIREMENTS if r.capability == name) or "none"
        lines.append(f"| `{name}` | {doc} | {gated} |")
    return "\n".join(lines) + "\n"


@attrs.frozen
class AdapterInfo:
    """What an adapter declares about itself and its SDK."""

    name: str
    kind: AdapterKind
    profile: str
    sdk_name: str
    sdk_version: str
    capabilities: frozenset[str] = frozenset()
    description: str = ""
    expected_violation: str | None = None
    """For a mutant: the requirement id its bug must break."""
    request_timeout: float | None = None
    """Seconds the SDK waits for the collector's answer, as the adapter configures it. Declared,
    the server machine's faults include ``slow`` answers, sent just after this (the outage
    ``track_during_outage`` draws, and with ``retries`` ``answer_next_delivery_late``)."""

    @property
    def is_mutant(self) -> bool:
        """Whether this adapter is a deliberately faulty SDK."""
        return self.expected_violation is not None


class ClientSession(Protocol):
    """One client (device) of a client SDK, opened by :meth:`Adapter.open_client`."""

    def track(self, name: str, properties: Mapping[str, Any]) -> None:
        """Record an event; the SDK supplies the identity."""

    def identify(self, user_id: str, traits: Mapping[str, Any]) -> None:
        """Identify the current user (the seed's Identify action)."""

    def reset(self) -> None:
        """Log out (capability ``reset``)."""

    def alias(self, new_id: str) -> None:
        """Alias the current person to ``new_id`` (capability ``alias``)."""

    def close(self) -> None:
        """Stop this client; reopening the same storage key resumes stored identity."""


MAX_REQUEST_TIMEOUT = 60.0
"""The longest request timeout an adapter may declare: a ``slow`` answer waits it out."""


EXIT_PROBE_DONE = "identity-conformance: exit probe calls done"
"""What an exit program prints after its last call: the exit bound counts from there."""


@attrs.frozen
class ServerCall:
    """One server ``track`` for an exit program: the arguments the adapter's ``track`` takes."""

    event: str
    properties: Mapping[str, Any]
    user_id: str | None
    anonymous_id: str | None


class Adapter(Protocol):
    """An SDK wrapped for the suite. One long-lived SDK instance per run (per device)."""

    @property
    def info(self) -> AdapterInfo:
        """Name, kind, profile, SDK name and version, capabilities."""

    def open_client(self, storage_key: str) -> ClientSession:
        """Open a client on ``storage_key``: same key = same device (client SDKs)."""

    def track(
        self,
        event: str,
        properties: Mapping[str, Any],
        *,
        user_id: str | None,
        anonymous_id: str | None,
    ) -> None:
        """Server-side track with the ids of this call only (server SDKs)."""

    def identify(
        self, *, user_id: str | None, anonymous_id: str | None, traits: Mapping[str, Any]
    ) -> None:
        """Server-side identify with the ids of this call only (capability ``identify``)."""

    def alias(self, *, previous_id: str, user_id: str) -> None:
        """Server-side alias (capability ``alias``)."""

    def flush(self) -> None:
        """Return only when everything accepted was delivered or reported failed."""

    def shutdown(self) -> None:
        """Flush and release the SDK; the adapter is not used afterwards."""


AdapterFactory = Callable[["Collector"], Adapter]
"""What the suite is given: a callable that builds an adapter around a collector."""


class CallOptionsAdapter(Protocol):
    """What an adapter with capability ``timestamp``, ``message-id`` or ``context`` adds to :class:`Adapter`."""

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
        """Server-side track with what applications pass beside the data, each only when given.

        Only the options of the declared capabilities (``timestamp``, ``message-id``,
        ``context``) are ever given; map each to the SDK's own argument, unchanged: the
        suite checks that they arrive as given and that the caller's ``context`` is not
        changed or carried into other calls.
        """


class AsyncTrackAdapter(Protocol):
    """What an adapter with capability ``asyncio-tasks`` adds to :class:`Adapter`."""

    async def track_async(
        self, event: str, properties: Mapping[str, Any], *, user_id: str | None, anonymous_id: str | None
    ) -> None:
        """Server-side track as an async request handler makes it, from an asyncio task.

        The suite runs many of these as tasks on one event loop; each event must carry only
        its own call's ids. Where the SDK's identity lives on something the handler sets up
        first (PostHog's ``new_context`` and ``identify_context``), await between setting it
        and the call (``await asyncio.sleep(0)``, as a handler awaits its database), so the
        tasks interleave there as they do in an application.
        """


class IdentifyContextAdapter(Protocol):
    """What an adapter with capability ``identify-context`` adds to :class:`Adapter`."""

    def identify_with_context(
        self,
        *,
        user_id: str | None,
        anonymous_id: str | None,
        traits: Mapping[str, Any],
        context: dict[str, Any] | None,
    ) -> None:
        """Server-side identify with the caller's ``context`` dict, given to the SDK's own context argument.

        The suite checks that the context arrives as given on the identify event, and that
        the caller's dict is not changed or carried into other calls.
        """


class ExitProbeAdapter(Protocol):
    """What an adapter with the ``exit`` capability has besides :class:`Adapter`'s operations."""

    def exit_program(self, calls: Sequence[ServerCall]) -> str:
        """Python source that makes ``calls`` through a new SDK instance, then exits.

        After its last call the program prints :data:`EXIT_PROBE_DONE` and lets the
        interpreter end, with no flush or shutdown; it posts where this adapter's SDK posts.
        """
