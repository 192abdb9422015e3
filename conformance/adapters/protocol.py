"""The adapter contract: how the suite drives an SDK. A Protocol, never a base class.

Wrap a new SDK in about 60 lines: a class with an ``info`` record, the client and/or
server operations below, ``flush`` and ``shutdown``; and a factory that takes the
:class:`~conformance.Collector` and points the SDK at ``collector.url`` (or, for an
in-process SDK, delivers canonical events to ``collector.ingest``). The suite never asks
the adapter what it sent: it reads what reached the collector.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol

import attrs

if TYPE_CHECKING:
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


CAPABILITIES = frozenset({"alias", "identify", "persistence", "reset", "retries", "threads"})
"""Optional operations an adapter may declare; rules needing a missing one are skipped."""


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
