"""Reference identity simulator: the executable statement of correct identity handling."""

from __future__ import annotations

from typing import Any

from simulator._client import ClientClosedError, ReferenceClient, StoredIdentity
from simulator._errors import (
    InvalidArgumentError,
    InvalidValueError,
    MissingIdentityError,
    SimulatorError,
    UnknownProfileError,
)
from simulator._ids import IdSource
from simulator._outbox import DeliveryError, Outbox, snapshot, snapshot_value
from simulator._profiles import (
    PROFILES,
    IdentifyEmits,
    IdentifyOther,
    IdModel,
    Link,
    Profile,
    get_profile,
)
from simulator._records import Event, Kind
from simulator._resolver import Person, Resolver, anonymous_key, resolve
from simulator._sdk import ReferenceSDK
from simulator._server import ReferenceServer, epoch_ms

__all__ = [
    "PROFILES",
    "ClientClosedError",
    "DeliveryError",
    "Event",
    "IdModel",
    "IdSource",
    "IdentifyEmits",
    "IdentifyOther",
    "InvalidArgumentError",
    "InvalidValueError",
    "Kind",
    "Link",
    "MissingIdentityError",
    "Outbox",
    "Person",
    "Profile",
    "ReferenceClient",
    "ReferenceSDK",
    "ReferenceServer",
    "Resolver",
    "SimulatorError",
    "StoredIdentity",
    "UnknownProfileError",
    "anonymous_key",
    "epoch_ms",
    "get_profile",
    "resolve",
    "snapshot",
    "snapshot_value",
]


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version  # noqa: PLC0415

        return version("identity-conformance")
    msg = f"module 'simulator' has no attribute {name!r}"
    raise AttributeError(msg)
