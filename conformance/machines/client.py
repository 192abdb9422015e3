"""The client machine: several devices, several users: identify, reset, reopen, track, flush."""

from __future__ import annotations

from typing import Any

from conformance.adapters.protocol import ClientSession
from conformance.machines import strategies as gen
from conformance.machines.base import PROBE_EVENT, drawn_rule
from conformance.machines.client_checks import ClientChecks
from simulator import IdentifyOther, ReferenceClient


class ClientMachine(ClientChecks):
    """Several devices, several users: identify, reset, reopen, track, flush."""

    covers = frozenset({"client", "delivery"})
    """The requirement scopes this machine's checks decide (its error reaches them)."""
    machine_name = "client"

    def __init__(self) -> None:
        super().__init__()
        self.clients: dict[str, tuple[ReferenceClient, ClientSession]] = {}
        self.shared: dict[str, Any] = {"plan": "free", "items": [1]}

    def _client(self, device: str) -> tuple[ReferenceClient, ClientSession]:
        if device not in self.clients:
            key = self.prefix + device
            model = self.model.open_client(key)
            sdk = self.h.call(f"open_client({key!r})", self.h.adapter.open_client, key)
            self.clients[device] = (model, sdk)
            self.timeline.setdefault(device, [(self.seq, None, "open")])
            self._bind_model_anonymous(device, model, "open")
        return self.clients[device]

    # -- rules ---------------------------------------------------------------------------------
    @drawn_rule(device=gen.DEVICE_POOL, name=gen.NAME_POOL, properties=gen.PROPERTY_POOL)
    def track(self, device: str, name: str, properties: dict[str, Any]) -> None:
        """Track an event with a fresh properties dict."""
        seq = self._record("track", device=device, name=name, properties=properties)
        model, sdk = self._client(device)
        marked = f"{name}{gen.MARKER}{self.mark(seq)}"
        self._model_call(seq, model.track, marked, properties)
        self.h.call("track()", sdk.track, marked, properties)

    @drawn_rule(device=gen.DEVICE_POOL, name=gen.NAME_POOL, key=gen.KEY_POOL, value=gen.VALUE_POOL)
    def track_reused_object(self, device: str, name: str, key: str, value: Any) -> None:
        """Track with the one properties dict the caller keeps reusing, changing it after."""
        seq = self._record("track_reused_object", device=device, name=name, key=key, value=value)
        model, sdk = self._client(device)
        marked = f"{name}{gen.MARKER}{self.mark(seq)}"
        self._model_call(seq, model.track, marked, self.shared)
        self.h.call("track()", sdk.track, marked, self.shared)
        self.shared[key] = value
        nested = self.shared.get("items")
        if isinstance(nested, list):
            nested.append(seq)

    @drawn_rule(device=gen.DEVICE_POOL, user_id=gen.USER_POOL, traits=gen.TRAIT_POOL)
    def identify(self, device: str, user_id: str, traits: dict[str, Any]) -> None:
        """Identify the device's current user."""
        seq = self._record("identify", device=device, user_id=user_id, traits=traits)
        model, sdk = self._client(device)
        previous = model.user_id
        marked = {**traits, gen.TRAIT_MARKER: self.mark(seq)}
        self._check("client.identify.emits-per-profile")
        self._model_call(seq, model.identify, user_id, marked)
        self.h.call("identify()", sdk.identify, user_id, marked)
        if previous != user_id:
            cause = "identify-other" if previous is not None else "identify"
            self._identity_changed(device, seq, user_id, cause)
            if (previous is not None
                    and self.h.profile.identify_other is IdentifyOther.ROTATE_ANONYMOUS):
                self._bind_model_anonymous(device, model, "identify-other")
        for key, value in marked.items():
            if key != gen.TRAIT_MARKER:
                self.trait_log.setdefault(device, []).append((seq, key, value))

    @drawn_rule(device=gen.DEVICE_POOL, user_id=gen.NO_USER_POOL, traits=gen.TRAIT_POOL)
    def identify_without_user(self, device: str, user_id: str | None, traits: dict[str, Any]) -> None:
        """identify(None) or identify('') must be refused, and nothing sent."""
        seq = self._record("identify_without_user", device=device, user_id=user_id, traits=traits)
        _, sdk = self._client(device)
        marked = {**traits, gen.TRAIT_MARKER: self.mark(seq)}
        self._check("client.identify.requires-user-id")
        # Whether or not it raises, nothing may be sent: an event of this step is a violation.
        self.window_calls[seq] = {"refused": True}
        refusal = self.h.attempt(f"identify({user_id!r})", sdk.identify, user_id, marked)
        if refusal is None:
            self._violate("client.identify.requires-user-id",
                          f"identify({user_id!r}) was accepted without raising",
                          expected="an exception", observed="returned normally", step=seq)

    def _reset(self, device: str) -> None:
        seq = self._record("reset", device=device)
        model, sdk = self._client(device)
        self._model_call(seq, model.reset)
        self.h.call("reset()", sdk.reset)
        self._identity_changed(device, seq, None, "reset")
        self._bind_model_anonymous(device, model, "reset")

    def _reopen(self, device: str) -> None:
        seq = self._record("reopen", device=device)
        if device in self.clients:
            model, sdk = self.clients.pop(device)
            model.close()
            self.h.call("close()", sdk.close)
        self._client(device)
        self.reopened.add(device)
        self.seen_since_reopen -= {sym for sym, d in self.sym_device.items() if d == device}
        del seq

    def _alias(self, device: str, new_id: str) -> None:
        seq = self._record("alias", device=device, new_id=new_id)
        model, sdk = self._client(device)
        self._model_call(seq, model.alias, new_id)
        self.h.call("alias()", sdk.alias, new_id)

    def _lose_ack(self, fault: str = "503") -> None:
        """The collector records the next delivery and answers it as ``fault`` (a 503, or a 200 no SDK can read)."""
        self._record("lose_next_delivery_ack", fault=fault)
        self.h.collector.fail_next(1, fault)
        self.fault_armed = True

    def teardown(self) -> None:
        """Track one probe event on every open client, flush, check, and close the clients.

        The probe observes each client's final identity, so a wrong identity after the
        last identify, reset or reopen is seen even when no later track call was
        generated. It is part of teardown, not of the trace: replaying the trace runs it.
        """
        try:
            for device in list(self.clients):
                self._probe(device)
            super().teardown()
        finally:
            clients, self.clients = list(self.clients.items()), {}
            for device, (model, sdk) in clients:
                model.close()
                self.h.call(f"close() of {device}", sdk.close)

    def _probe(self, device: str) -> None:
        seq = self._note("track", "teardown", device=device, name=PROBE_EVENT,
                         note=f"closing probe event of {device}")  # fmt: skip
        model, sdk = self.clients[device]
        marked = f"{PROBE_EVENT}{gen.MARKER}{self.mark(seq)}"
        self._model_call(seq, model.track, marked, {})
        self.h.call("track() (closing probe)", sdk.track, marked, {})
