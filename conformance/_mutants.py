"""Faulty SDKs: the reference SDK with one realistic identity bug each.

A conformance suite is worth its power to catch real bugs; every mutant here must be
caught, with the requirement id it names, within the default budget (tests/test_mutants.py).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import attrs

from conformance._adapter import AdapterInfo, AdapterKind
from conformance._collector import Collector
from conformance._reference import ReferenceAdapter
from simulator import ReferenceClient


@attrs.frozen
class Mutant:
    """One deliberately faulty SDK."""

    name: str
    scope: str
    bug: str
    breaks: str
    factory: Callable[[Collector], Any] = attrs.field(repr=False)


class _MutantAdapter(ReferenceAdapter):
    """The reference adapter with an ``info`` that names the mutant and its bug."""

    mutant: Mutant

    def __init__(self, collector: Collector, profile: str = "seed", seed: int = 0) -> None:
        super().__init__(collector, profile, seed)
        base = self.info
        self._info = AdapterInfo(
            name=self.mutant.name, kind=AdapterKind.BOTH, profile=base.profile,
            sdk_name="reference SDK with a planted bug", sdk_version=base.sdk_version,
            capabilities=base.capabilities, description=self.mutant.bug,
            expected_violation=self.mutant.breaks,
        )  # fmt: skip


class _ClientWrapper:
    """Delegates to a reference client; mutants override one operation."""

    def __init__(self, inner: ReferenceClient, adapter: Any) -> None:
        self.inner = inner
        self.adapter = adapter

    def track(self, name: str, properties: Mapping[str, Any]) -> None:
        self.inner.track(name, properties)

    def identify(self, user_id: str, traits: Mapping[str, Any]) -> None:
        self.inner.identify(user_id, traits)

    def reset(self) -> None:
        self.inner.reset()

    def alias(self, new_id: str) -> None:
        self.inner.alias(new_id)

    def close(self) -> None:
        self.inner.close()


MUTANTS: list[Mutant] = []


def mutant(name: str, breaks: str, bug: str, scope: str = "client") -> Callable[[type], type]:
    """Register a mutant adapter class."""

    def register(cls: type) -> type:
        record = Mutant(name, scope, bug, breaks, cls)
        cls.mutant = record  # type: ignore[attr-defined]
        MUTANTS.append(record)
        return cls

    return register


def _client_mutant(wrapper: type[_ClientWrapper]) -> type[_MutantAdapter]:
    class Adapter(_MutantAdapter):
        def open_client(self, storage_key: str) -> Any:
            return wrapper(super().open_client(storage_key), self)

    return Adapter


# -- client mutants ---------------------------------------------------------------------------
class _ResetKeepsUser(_ClientWrapper):
    def reset(self) -> None:
        state = self.inner._state
        user = state.user_id
        self.inner.reset()
        state.user_id = user
        self.inner._refresh()


mutant("mutant-reset-keeps-user", "client.reset.forgets-user",
       "reset() rotates the anonymous id but keeps the user id.")(_client_mutant(_ResetKeepsUser))  # fmt: skip


class _AnonymousIdPerEvent(_ClientWrapper):
    def track(self, name: str, properties: Mapping[str, Any]) -> None:
        self.inner._state.anonymous_id = self.adapter.sdk.ids.new_id()
        self.inner._refresh()
        self.inner.track(name, properties)


mutant("mutant-anonymous-id-per-event", "client.anonymous-id.stable",
       "A new anonymous id is generated for every tracked event.")(_client_mutant(_AnonymousIdPerEvent))  # fmt: skip


# -- server mutants ---------------------------------------------------------------------------
@mutant("mutant-server-caches-user", "server.state.no-carry-over",
        "The server SDK remembers the last user id and fills it into calls that omit it.",
        scope="server")  # fmt: skip
class _ServerCachesUser(_MutantAdapter):
    last_user: str | None = None

    def track(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
              anonymous_id: str | None) -> None:  # fmt: skip
        if user_id is not None:
            self.last_user = user_id
        super().track(event, properties, user_id=user_id or self.last_user,
                      anonymous_id=anonymous_id)  # fmt: skip
