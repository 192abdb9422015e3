"""The client machine's identity ledger and checks: what each device's events must carry.

The ledger records, per device, every identity change (identify, reset, reopen), the traits
sent, and how the model's symbolic anonymous ids bind to the ids observed on the wire. At
each flush every matched event is compared with the model's and each difference is
classified under the requirement it breaks; then the whole history is resolved downstream.
"""

from __future__ import annotations

from typing import Any

from conformance.adapters.protocol import ClientSession
from conformance.machines import strategies as gen
from conformance.machines.base import BaseMachine, step_number
from simulator import Event, IdModel, Kind, ReferenceClient, resolve


class ClientChecks(BaseMachine):
    """The ledger of a client example and the checks over it (the rules are in ``client.py``)."""

    def __init__(self) -> None:
        super().__init__()
        self.clients: dict[str, tuple[ReferenceClient, ClientSession]] = {}
        # per device: ordered (seq, user or None, cause) of identity changes
        self.timeline: dict[str, list[tuple[int, str | None, str]]] = {}
        self.trait_log: dict[str, list[tuple[int, str, Any]]] = {}
        self.sym_to_obs: dict[str, str] = {}
        self.obs_to_sym: dict[str, str] = {}
        self.sym_device: dict[str, str] = {}
        self.sym_cause: dict[str, str] = {}
        self.reopened: set[str] = set()
        self.seen_since_reopen: set[str] = set()
        self.users_by_device: dict[str, set[str]] = {}
        self.extra_events: list[tuple[float, Event]] = []
        """Identity events no call produced, where they arrived: they still link ids downstream."""

    def observed_id(self, model_id: str) -> str:
        """The SDK's id for a model anonymous id once the two were seen together."""
        return self.sym_to_obs.get(model_id, model_id)

    def model_id_of(self, observed: str) -> str | None:
        """The model anonymous id an SDK id was seen with, once the two were seen together."""
        return self.obs_to_sym.get(observed)

    def state_of(self, rule_name: str, args: dict[str, Any]) -> str:
        """The device's identity state before the step, and the step (state coverage)."""
        device = args.get("device")
        if device is None:
            return rule_name
        if device not in self.clients:
            return f"new device: {rule_name}"
        user = self.clients[device][0].user_id
        if user is None:
            state = "anonymous after reset" if self.timeline[device][-1][2] == "reset" else "anonymous"
        else:
            state = "identified"
            if rule_name == "identify":
                rule_name = "identify the same user" if args.get("user_id") == user else "identify another user"
        return f"{state}: {rule_name}"

    def is_model_id(self, value: str) -> bool:
        """Whether ``value`` is one of the model's anonymous or device ids."""
        return value in self.sym_device

    def _bind_model_anonymous(self, device: str, model: ReferenceClient, cause: str) -> None:
        for sym in (model.anonymous_id, model.device_id):
            if sym is not None and sym not in self.sym_device:
                self.sym_device[sym] = device
                self.sym_cause[sym] = cause

    def _identity_changed(self, device: str, seq: int, user: str | None, cause: str) -> None:
        self.timeline.setdefault(device, []).append((seq, user, cause))
        if user is not None:
            self.users_by_device.setdefault(device, set()).add(user)

    # -- comparison ----------------------------------------------------------------------------
    def _user_at(self, device: str, seq: int) -> list[tuple[int, str | None, str]]:
        return [entry for entry in self.timeline.get(device, []) if entry[0] <= seq]

    def _anonymous_value(self, event: Event) -> str | None:
        model = self.h.profile.id_model
        if model is IdModel.DUAL:
            return event.anonymous_id
        if model is IdModel.DEVICE_USER:
            return event.device_id
        return event.distinct_id if event.distinct_id != event.user_id else None

    def compare(self, seq: int, want: Event, got: Event) -> None:
        """Classify every difference between the model's event and the SDK's."""
        device = (want.source or "")[len(self.prefix):]
        self._count_context_checks(seq, device)
        self._compare_user(seq, device, want, got)
        # An event paired by a guess (see BaseMachine._match) may be another client's: its
        # SDK-made ids say nothing about this client's, so only what the caller gave is compared.
        sure = id(got) not in self.unsure
        if sure:
            self._compare_anonymous(seq, device, want, got)
        if sure and self.h.profile.id_model is IdModel.SWITCHING:
            self._compare_symbol(seq, device, want.device_id, got.device_id, "device id")
        self._compare_payload(seq, device, want, got, sure=sure)

    def _count_context_checks(self, seq: int, device: str) -> None:
        """Count the situational requirements this comparison exercises."""
        past = self._user_at(device, seq)
        causes = [c for _, _, c in past]
        if device in self.reopened:
            self._check("client.anonymous-id.persists")
        if "reset" in causes:
            self._check("client.anonymous-id.rotates-on-reset")
            if any(u is not None for _, u, _ in past):
                self._check("client.reset.forgets-user")
        if "identify-other" in causes:
            self._check("client.identify.no-merge-of-identified-users")
        if len(self.timeline) > 1:
            self._check("client.isolation.between-clients")

    def _compare_user(self, seq: int, device: str, want: Event, got: Event) -> None:
        timeline = self.timeline.get(device, ())
        if any(u is not None for s, u, _ in timeline if s <= seq):
            self._check("client.identify.later-events-carry-user")
        if any(s > seq for s, _, _ in timeline):  # the identity changed before this flush
            self._check("client.binding.at-call")
        if want.user_id == got.user_id:
            return
        observed = got.user_id
        past = self._user_at(device, seq)
        later = [u for s, u, _ in self.timeline.get(device, []) if s > seq]
        before_reset = {u for i, (s, u, c) in enumerate(past) if u is not None
                        and any(c2 == "reset" for _, _, c2 in past[i + 1:])}
        others = set().union(*(users for d, users in self.users_by_device.items() if d != device))
        requirement = "client.identify.later-events-carry-user"
        if observed is not None and observed in later and observed not in {u for _, u, _ in past}:
            requirement = "client.binding.at-call"
        elif observed is not None and observed in before_reset:
            requirement = "client.reset.forgets-user"
        elif (observed is not None and observed in others
              and observed not in self.users_by_device.get(device, set())):
            requirement = "client.isolation.between-clients"
        self._violate(requirement,
                      f"{self._event_of(seq, want.kind.value, device)} carried the wrong user id",
                      expected=want.user_id, observed=observed, step=seq)

    def _compare_anonymous(self, seq: int, device: str, want: Event, got: Event) -> None:
        sym, obs = self._anonymous_value(want), self._anonymous_value(got)
        if sym is None:
            return
        self._check("client.anonymous-id.automatic")
        if not obs:
            self._violate("client.anonymous-id.automatic",
                          f"{self._event_of(seq, want.kind.value, device)} carried no anonymous id",
                          expected="an SDK-assigned id", observed=obs, step=seq)
            return
        self._compare_symbol(seq, device, sym, obs, "anonymous id")

    def _compare_symbol(self, seq: int, device: str, sym: str | None, obs: str | None,
                        what: str) -> None:  # fmt: skip
        if sym is None or obs is None:
            return
        bound = self.sym_to_obs.get(sym)
        if bound is not None:
            self._check("client.anonymous-id.stable")
        if len(self.sym_to_obs) > 1:
            self._check("client.anonymous-id.per-client")
        owner = self.obs_to_sym.get(obs)
        first_since_reopen = sym not in self.seen_since_reopen
        self.seen_since_reopen.add(sym)
        if bound is None and owner is None:
            self.sym_to_obs[sym], self.obs_to_sym[obs] = obs, sym
            return
        if bound is not None and bound != obs:
            # Only the first sighting after a reopen tests persistence; any later change
            # of id, reopened device or not, is instability.
            requirement = ("client.anonymous-id.persists" if first_since_reopen
                           and device in self.reopened else "client.anonymous-id.stable")
            self._violate(requirement, f"the {what} of {device} changed at step {seq} although "
                          "nothing that changes it happened", expected=bound, observed=obs, step=seq)
            return
        if owner is not None and owner != sym:
            other_device = self.sym_device.get(owner)
            if other_device is not None and other_device != device:
                requirement = "client.anonymous-id.per-client"
                message = f"{device} used the {what} of {other_device} at step {seq}"
            elif self.sym_cause.get(sym) == "reset":
                requirement = "client.anonymous-id.rotates-on-reset"
                message = f"{device} kept its {what} after reset (step {seq})"
            else:
                requirement = "client.identify.no-merge-of-identified-users"
                message = f"{device} kept its {what} after identifying another user (step {seq})"
            self._violate(requirement, message, expected="a new id", observed=obs, step=seq)

    def _compare_payload(self, seq: int, device: str, want: Event, got: Event, *, sure: bool) -> None:
        self._check("client.payload.as-called")
        if want.name != got.name or dict(want.properties) != dict(got.properties):
            self._violate("client.payload.as-called",
                          f"{self._event_of(seq, '', device)} arrived with other name or properties",
                          expected={"name": want.name, "properties": dict(want.properties)},
                          observed={"name": got.name, "properties": dict(got.properties)}, step=seq)
        if want.kind is Kind.ALIAS and sure:
            self._check("client.alias.names-both-ids")
            previous_ok = (got.previous_id == want.previous_id
                           or self.sym_to_obs.get(want.previous_id or "") == got.previous_id)
            if not previous_ok:
                self._violate("client.alias.names-both-ids",
                              f"the alias of step {seq} named the wrong previous id",
                              expected=want.previous_id, observed=got.previous_id, step=seq)
        if want.kind is not Kind.IDENTIFY:
            return
        if got.previous_id != want.previous_id:
            self._check_merge(got, seq)
        if any(c == "reset" and s < seq for s, _, c in self.timeline.get(device, ())):
            self._check("client.reset.forgets-traits")
        wanted = {k: v for k, v in want.traits.items() if k != gen.TRAIT_MARKER}
        seen = {k: v for k, v in got.traits.items() if k != gen.TRAIT_MARKER}
        if wanted == seen:
            return
        extra = {k: v for k, v in seen.items() if wanted.get(k, object()) != v}
        mine = self.trait_log.get(device, [])
        requirement = "client.payload.as-called"
        if extra:
            stale = [(s, k) for s, k, v in mine if s < seq and extra.get(k, object()) == v]
            resets = [s for s, u, c in self.timeline.get(device, []) if c == "reset" and s < seq]
            switches = [s for s, u, c in self.timeline.get(device, [])
                        if c == "identify-other" and s <= seq]
            if any(s < r for s, _ in stale for r in resets):
                requirement = "client.reset.forgets-traits"
            elif any(s < w for s, _ in stale for w in switches):
                requirement = "client.identify.no-merge-of-identified-users"
            elif not stale and any(
                extra.get(k, object()) == v
                for d, log in self.trait_log.items() if d != device for _, k, v in log
            ):
                requirement = "client.isolation.between-clients"
        self._violate(requirement, f"the identify of step {seq} on {device} carried other traits",
                      expected=wanted, observed=seen, step=seq)

    def _missing(self, seq: int, want: Event) -> None:
        if want.kind is Kind.IDENTIFY:
            # Lost or never sent, the wire cannot tell: both rules hear of it.
            self._violate("client.identify.emits-per-profile",
                          f"the identify of step {seq} sent no event, but profile "
                          f"{self.h.profile.name!r} says it does",
                          expected=want, observed=None, step=seq)
        super()._missing(seq, want)

    def _unexpected(self, event: Event) -> None:
        number = self.seq_of(step_number(event))
        if number is not None and self.window_calls.get(number, {}).get("refused"):
            self._violate("client.identify.requires-user-id",
                          f"identify without a user id (step {number}) still sent an event",
                          expected=None, observed=event, step=number)
            return
        if event.kind in (Kind.IDENTIFY, Kind.MERGE, Kind.ALIAS):
            self._violate("client.identify.emits-per-profile",
                          f"an identify event arrived that profile {self.h.profile.name!r} "
                          "does not send", expected=None, observed=event, step=number)
            # It still links ids downstream: resolution and merges must account for it.
            self.extra_events.append((self._position(event), event))
            self._check_merge(event, number)
            return
        super()._unexpected(event)

    def _check_merge(self, event: Event, step: int | None) -> None:
        """An identity event must never name another identified user as the previous id."""
        previous = event.previous_id
        if previous is None or previous == event.user_id:
            return
        identified = set().union(*self.users_by_device.values())
        if previous in identified:
            self._violate("client.identify.no-merge-of-identified-users",
                          f"a {event.kind.value} event merges identified user {previous!r} "
                          f"into {event.user_id!r}", expected="no merge of two identified users",
                          observed=event, step=step)  # fmt: skip

    def after_window(self, pairs: list[tuple[int, Event, list[Event]]]) -> None:
        """Per-client order, then downstream resolution of the whole history."""
        if self.h.profile.ordered_delivery:
            self._check("delivery.order.per-client")
            last: dict[str | None, int] = {}
            for seq, want, _copies in sorted(
                (p for p in pairs if p[2]), key=lambda p: self._arrival[id(p[2][0])]
            ):
                if seq < last.get(want.source, 0):
                    self._violate("delivery.order.per-client",
                                  f"the event of step {seq} arrived after the event of step "
                                  f"{last[want.source]} of the same client",
                                  expected=f"step {seq} first", observed=f"step {last[want.source]} first",
                                  step=seq)
                last[want.source] = max(seq, last.get(want.source, 0))
        self._check_resolution()

    def _check_resolution(self) -> None:
        link = self.h.profile.link
        expected_people = resolve(self.history_expected, link)
        if any(e.user_id is None and p.user_id is not None
               for e, p in zip(self.history_expected, expected_people, strict=True)):  # fmt: skip
            self._check("client.identify.links-earlier-anonymous-events")
        ordered = sorted(range(len(self.history_observed)), key=lambda i: self.history_observed[i][0])
        if self.extra_events:  # identity events no call produced, where they arrived
            merged = sorted([(self.history_observed[i][0], i) for i in ordered]
                            + [(at, -1 - k) for k, (at, _) in enumerate(self.extra_events)])  # fmt: skip
            observed_events = [self.history_observed[i][1] if i >= 0 else self.extra_events[-1 - i][1]
                               for _, i in merged]  # fmt: skip
            people = resolve(observed_events, link)
            by_position = {i: people[k] for k, (_, i) in enumerate(merged) if i >= 0}
        else:
            observed_people = resolve([self.history_observed[i][1] for i in ordered], link)
            by_position = {i: observed_people[k] for k, i in enumerate(ordered)}
        for i, want_person in enumerate(expected_people):
            seq, _ = self.history_observed[i]
            got_person = by_position[i]
            if got_person.user_id == want_person.user_id:
                continue
            device = (self.history_expected[i].source or "")[len(self.prefix):]
            past = self._user_at(device, seq)
            resets = [s for s, _, c in past if c == "reset"]
            earlier_users = {u for s, u, _ in past if u is not None and resets and s < max(resets)}
            requirement = "client.identify.links-earlier-anonymous-events"
            if got_person.user_id is not None and got_person.user_id in earlier_users:
                requirement = "client.reset.forgets-user"
            elif (got_person.user_id is not None
                  and got_person.user_id not in self.users_by_device.get(device, set())):
                requirement = "client.isolation.between-clients"
            elif got_person.user_id is not None and want_person.user_id is not None:
                requirement = "client.identify.no-merge-of-identified-users"
            self._violate(requirement,
                          f"downstream, {self._event_of(seq, '', device)} resolves to "
                          f"{got_person} instead of {want_person}",
                          expected=str(want_person), observed=str(got_person), step=seq)
