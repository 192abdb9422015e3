"""What every mutant is built from: its record, the adapter and client bases, registration.

A mutant is the reference SDK with one realistic bug, planted only through the public
simulator API and :mod:`simulator.testing`, so the simulator's internals can change
without breaking a mutant.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar, TypeVar

import attrs

from conformance import REQUIREMENTS
from conformance.adapters.protocol import AdapterInfo, AdapterKind
from conformance.adapters.reference import ReferenceAdapter
from conformance.collector.store import Collector
from simulator import Event, Outbox, ReferenceClient
from simulator.testing import queued_calls, replace_queued_call

SCOPES = ("client", "server", "both")
"""Which half of the SDK a mutant's bug is in (``both``: the delivery both halves share)."""


def _check_requirements(record: Mutant, attribute: attrs.Attribute[Any], value: Any) -> None:
    del attribute
    for requirement in (record.breaks, *value):
        if requirement not in {r.id for r in REQUIREMENTS}:
            msg = f"mutant {record.name!r} names unknown requirement {requirement!r}. Run `identity-conformance requirements` to list the ids."
            raise ValueError(msg)
    if record.breaks in value or len(set(value)) != len(value):
        msg = f"mutant {record.name!r}: also_breaks {value!r} must name each knock-on once and not the primary {record.breaks!r}."
        raise ValueError(msg)


@attrs.frozen
class Mutant:
    """One deliberately faulty SDK and every requirement it is expected to break."""

    name: str
    scope: str = attrs.field(validator=attrs.validators.in_(SCOPES))
    bug: str
    breaks: str
    """The primary requirement: the one the bug is about, whose FAIL means "caught"."""
    factory: Callable[[Collector], Any] = attrs.field(repr=False)
    also_breaks: tuple[str, ...] = attrs.field(default=(), validator=_check_requirements)
    """Knock-on failures: requirements the bug also makes FAIL, as full runs show."""
    profile: str = "seed"
    """The profile the mutant runs under (one that has the feature the bug is in)."""

    @property
    def requirements(self) -> tuple[str, ...]:
        """Every requirement the mutant may make FAIL, the primary first."""
        return (self.breaks, *self.also_breaks)


class _MutantAdapter(ReferenceAdapter):
    """The reference adapter with an ``info`` that names the mutant and its bug."""

    mutant: ClassVar[Mutant]

    def __init__(self, collector: Collector, profile: str | None = None, seed: int = 0) -> None:
        super().__init__(collector, profile or self.mutant.profile, seed)
        base = super().info
        self.mutant_info = AdapterInfo(
            name=self.mutant.name, kind=AdapterKind.BOTH, profile=base.profile,
            sdk_name="reference SDK with a planted bug", sdk_version=base.sdk_version,
            capabilities=base.capabilities, description=self.mutant.bug,
            expected_violation=self.mutant.breaks, request_timeout=base.request_timeout,
        )  # fmt: skip

    @property
    def info(self) -> AdapterInfo:
        """What this mutant declares: its name, its bug and its primary requirement."""
        return self.mutant_info


class _DeliveryMutant(_MutantAdapter):
    """A mutant of the transport: the SDK's outbox hands every batch to ``deliver_batch``."""

    def __init__(self, collector: Collector, profile: str | None = None, seed: int = 0) -> None:
        super().__init__(collector, profile, seed)
        send = self.sdk.outbox.deliver
        assert send is not None
        self.send_batch: Callable[[list[Event]], None] = send
        """The correct transport: one call sends one batch to the collector."""
        self.sdk.outbox.deliver = self.deliver_batch

    def deliver_batch(self, events: list[Event]) -> None:
        """Send one batch; mutants override this."""
        self.send_batch(events)


class _ClientWrapper:
    """Delegates to a reference client; mutants override one operation."""

    def __init__(self, inner: ReferenceClient, adapter: Any) -> None:
        self.inner = inner
        self.adapter = adapter

    @property
    def outbox(self) -> Outbox:
        """Where the client queues its calls (the SDK's one outbox)."""
        outbox: Outbox = self.adapter.sdk.outbox
        return outbox

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


_A = TypeVar("_A", bound=_MutantAdapter)


def registrar(
    registry: list[Mutant],
) -> Callable[..., Callable[[type[_A]], type[_A]]]:
    """A ``@mutant(name, breaks, bug, ...)`` decorator that appends to ``registry``."""

    def mutant(name: str, breaks: str, bug: str, *, also_breaks: tuple[str, ...] = (),
               scope: str = "client", profile: str = "seed") -> Callable[[type[_A]], type[_A]]:  # fmt: skip
        def register(cls: type[_A]) -> type[_A]:
            record = Mutant(name, scope, bug, breaks, cls, also_breaks=also_breaks, profile=profile)
            cls.mutant = record
            registry.append(record)
            return cls

        return register

    return mutant


def _client_mutant(wrapper: type[_ClientWrapper]) -> type[_MutantAdapter]:
    """An adapter whose clients are the reference clients wrapped in ``wrapper``."""

    class Adapter(_MutantAdapter):
        def open_client(self, storage_key: str) -> Any:
            return wrapper(super().open_client(storage_key), self)

    return Adapter


def edit_last_call(outbox: Outbox, **changes: Any) -> None:
    """Change fields of the call queued last (see :class:`simulator.testing.QueuedCall`)."""
    replace_queued_call(outbox, -1, attrs.evolve(queued_calls(outbox)[-1], **changes))
