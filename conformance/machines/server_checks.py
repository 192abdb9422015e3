"""The server machine's checks: each call's ids exactly as given, nothing carried over.

A server SDK keeps no identity, so every event must carry exactly the ids of its own call;
a difference is classified by where the foreign ids came from (an earlier call, an earlier
identify, another thread). After each flush the history is resolved downstream.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timezone
from typing import Any

import attrs

from conformance.machines import strategies as gen
from conformance.machines.base import EXAMPLE_STRIDE, BaseMachine, step_number
from simulator import Event, IdModel, Link, Person, resolve


class ServerChecks(BaseMachine):
    """The ledger of a server example (calls by step) and the checks over it."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: dict[int, dict[str, Any]] = {}
        self.threaded: set[int] = set()
        self.dual_observed: list[Event] = []
        """``history_observed``'s events with their anonymous key in ``anonymous_id``."""
        self.sdk_context_keys: set[str] = set()
        """Keys the SDK wrote into a caller's context dict: its own, never carried over by it."""
        self.first_call = self.first_identify = EXAMPLE_STRIDE
        """Steps of the example's first call and first identify (situations of two rules)."""

    def _ids(self, user_id: str | None, anonymous_id: str | None) -> dict[str, str | None]:
        return {"user_id": user_id, "anonymous_id": anonymous_id}

    def state_of(self, rule_name: str, args: dict[str, Any]) -> str:
        """Whether an identify came before, the step, and which ids it gives (state coverage)."""
        if "user_id" not in args:
            return rule_name
        given = [name for name, key in (("user id", "user_id"), ("anonymous id", "anonymous_id")) if args.get(key)]
        ids = " and ".join(given) if given else "no id"
        state = "after an identify" if self.first_identify < EXAMPLE_STRIDE else "no identify yet"
        return f"{state}: {rule_name} with {ids}"

    def compare(self, seq: int, want: Event, got: Event) -> None:
        """Ids exactly as given; payload exactly as at the call."""
        self._check("server.ids.exactly-as-given")
        # Situational rules count only when their situation happened before this call.
        if self.first_call < seq:
            self._check("server.state.no-carry-over")
        if self.first_identify < seq:
            self._check("server.state.identify-changes-nothing")
        threaded = seq in self.threaded
        field_named = self._field_named_values(seq)
        if field_named is not None:
            self._check("server.ids.not-overridden-by-data")
        if self._ids_differ(want, got):
            requirement = self._classify_ids(seq, got)
            foreign = set(_wire_ids(got).values()) - {want.user_id, want.anonymous_id}
            if threaded and foreign:
                requirement = "server.threads.isolated"
            elif field_named is not None and (foreign & field_named or (not _wire_ids(got) and self._nulled_by(seq))):
                # ids from the call's own data, or every id gone under a null named like an id
                requirement = "server.ids.not-overridden-by-data"
            how = rewritten(want, got)
            if requirement == "server.ids.not-overridden-by-data":
                how = self._overridden_by(seq, foreign) or self._nulled_by(seq) or how
            self._violate(requirement, f"the {want.kind.value} event of step {seq} carried other ids"
                          + (f" ({how})" if how else ""),
                          expected={"user_id": want.user_id, "anonymous_id": want.anonymous_id},
                          observed=_wire_ids(got), step=seq)
        given = self.calls.get(seq, {}).get("given")
        if given:
            self._compare_given(seq, given, got)
        if "context" in self.h.info.capabilities and got.context:
            self._check_context_carry_over(seq, got)
        payload_want = (dict(want.properties), {k: v for k, v in want.traits.items()
                                                if k != gen.TRAIT_MARKER})
        payload_got = (dict(got.properties), {k: v for k, v in got.traits.items()
                                              if k != gen.TRAIT_MARKER})
        if payload_want != payload_got:
            requirement = "server.arguments.not-retained"
            earlier = [c for s, c in self.calls.items() if s < seq]
            got_keys = set(payload_got[0]) | set(payload_got[1])
            want_keys = set(payload_want[0]) | set(payload_want[1])
            others = {s for s in self.threaded if s != seq}
            if threaded and payload_got[0].get("thread") in others:
                requirement = "server.threads.isolated"
            elif any(set(c.get("traits", {})) & (got_keys - want_keys) for c in earlier) or (any(set(c.get("properties", {})) & (got_keys - want_keys) for c in earlier
                     if c.get("properties") is not None) and not self._was_shared(seq)):
                requirement = "server.state.no-carry-over"
            how = payload_difference(payload_want, payload_got)
            self._violate(requirement, f"the event of step {seq} carried another payload ({how})",
                          expected=payload_want, observed=payload_got, step=seq)

    def _compare_given(self, seq: int, given: dict[str, Any], got: Event) -> None:
        """What the call gave beside its data arrived as given: time, message id, context."""
        if "timestamp" in given:
            self._check("server.arguments.timestamp-as-given")
            if got.timestamp != given["timestamp"]:
                self._violate("server.arguments.timestamp-as-given",
                              f"the event of step {seq} carried another time ({_time_difference(given['timestamp'], got.timestamp)})",
                              expected=_iso(given["timestamp"]), observed=_iso(got.timestamp), step=seq)  # fmt: skip
        if "message_id" in given:
            self._check("server.arguments.message-id-as-given")
            if got.message_id != given["message_id"]:
                how = "none" if got.message_id is None else "another one"
                self._violate("server.arguments.message-id-as-given",
                              f"the event of step {seq} carried {how} instead of the message id its call gave "
                              f"({given['message_id']!r})",
                              expected=given["message_id"], observed=got.message_id, step=seq)  # fmt: skip
        if "context" in given:
            self._check("server.arguments.context-as-given")
            how = difference("context", given["context"], got.context, added=False)
            if how:
                self._violate("server.arguments.context-as-given",
                              f"the event of step {seq} carried another context ({how})",
                              expected=given["context"], observed=dict(got.context), step=seq)  # fmt: skip

    def _check_context_carry_over(self, seq: int, got: Event) -> None:
        """No key of an earlier call's context, with its value then, rides on this call's event."""
        own = self.calls.get(seq, {}).get("given", {}).get("context", {})
        for earlier, call in sorted(self.calls.items(), reverse=True):
            context = call.get("given", {}).get("context", {})
            if earlier >= seq or not context:
                continue
            carried = sorted(k for k, v in context.items()
                             if k not in own and k not in self.sdk_context_keys and got.context.get(k) == v)  # fmt: skip
            if carried:
                self._violate("server.state.no-carry-over",
                              f"the event of step {seq} carried the context of step {earlier} "
                              f"({', '.join(repr(k) for k in carried)})",
                              expected=own, observed=dict(got.context), step=seq)  # fmt: skip
                return

    def _field_named_values(self, seq: int) -> set[str] | None:
        """The string values of the call's properties named like SDK fields, or None if it has none."""
        properties = self.calls.get(seq, {}).get("properties") or {}
        named = [key for key in properties if key in gen.SDK_FIELD_KEYS]
        if not named:
            return None
        return {properties[key] for key in named if isinstance(properties[key], str)}

    def _nulled_by(self, seq: int) -> str:
        """'ids replaced by its own null 'distinct_id' property' when the call has such a null."""
        keys = self._field_keys(seq, gen.ID_FIELD_KEYS, lambda value: value is None)
        return "ids replaced by its own null " + keys + " property" if keys else ""

    def _overridden_by(self, seq: int, foreign: set[str]) -> str:
        """Which field-named property of the call put ``foreign`` ids on its event, in words."""
        keys = self._field_keys(seq, gen.SDK_FIELD_KEYS, lambda value: value in foreign)
        return "taken from its own " + keys + " property" if keys else ""

    def _field_keys(self, seq: int, names: tuple[str, ...], matches: Callable[[Any], bool]) -> str:
        """The call's property keys among ``names`` whose value ``matches``, quoted, or ''."""
        properties = self.calls.get(seq, {}).get("properties") or {}
        return ", ".join(repr(k) for k in sorted(k for k in properties if k in names and matches(properties[k])))

    def _was_shared(self, seq: int) -> bool:
        return any(step["rule"] == "track_reused_object" for step in self.trace[seq - 1:seq])

    def _same_person(self, want: Person, got: Person) -> bool:
        """One-id wire models cannot tell a user id from an anonymous one: compare the id."""
        if self.h.profile.id_model is IdModel.DUAL:
            return want.user_id == got.user_id
        return (want.user_id or want.anonymous_key) == (got.user_id or got.anonymous_key)

    def _ids_differ(self, want: Event, got: Event) -> bool:
        """Dual-id SDKs must put each id in its own field; one-id models must carry the same set."""
        if self.h.profile.id_model is IdModel.DUAL:
            return (want.user_id, want.anonymous_id) != (got.user_id, got.anonymous_id)
        return {want.user_id, want.anonymous_id} - {None} != set(_wire_ids(got).values())

    def _classify_ids(self, seq: int, got: Event) -> str:
        earlier = sorted((s, c) for s, c in self.calls.items() if s < seq)
        observed = set(_wire_ids(got).values())
        for _, call in reversed(earlier):
            if observed & {call["user_id"], call["anonymous_id"]} - set(self._ids_of(seq)):
                if call["kind"] == "identify":
                    return "server.state.identify-changes-nothing"
                return "server.state.no-carry-over"
        return "server.ids.exactly-as-given"

    def _ids_of(self, seq: int) -> tuple[str | None, str | None]:
        call = self.calls.get(seq, {})
        return call.get("user_id"), call.get("anonymous_id")

    def _unexpected(self, event: Event) -> None:
        number = self.seq_of(step_number(event))
        window = self.window_calls.get(number, {}) if number is not None else {}
        if "refusal" in window:  # an error to the caller, and the event sent all the same
            self._violate("server.ids.not-overridden-by-data",
                          f"track (step {number}) raised {window['refusal']} and its event still arrived",
                          expected=None, observed=event, step=number)  # fmt: skip
            return
        if number is not None and window.get("refused"):
            self._violate("server.ids.at-least-one",
                          f"the call without ids (step {number}) still sent an event",
                          expected=None, observed=event, step=number)
            earlier = {i for s, c in self.calls.items() if s < number
                       for i in (c["user_id"], c["anonymous_id"]) if i}  # fmt: skip
            borrowed = set(_wire_ids(event).values()) & earlier
            if borrowed:  # worse than sending it: attributed to someone an earlier call named
                self._violate("server.state.no-carry-over",
                              f"the call without ids (step {number}) arrived under an earlier "
                              f"call's id {min(borrowed)!r}",
                              expected=None, observed=event, step=number)  # fmt: skip
            return
        super()._unexpected(event)

    def after_window(self, pairs: list[tuple[int, Event, list[Event]]]) -> None:
        """Both ids on one call link them downstream."""
        del pairs
        ordered = sorted(range(len(self.history_observed)), key=lambda i: self.history_observed[i][0])
        # Server SDKs put the ids of one call on one event: whatever fields the id model uses,
        # the event links its user to its anonymous key (anonymous, device or distinct id).
        expected = resolve([self.history_expected[i] for i in ordered], Link.BOTH_IDS)
        for _, event in self.history_observed[len(self.dual_observed):]:
            self.dual_observed.append(_dual(event))  # once per event, not once per flush
        observed = resolve([self.dual_observed[i] for i in ordered], Link.BOTH_IDS)
        for k, i in enumerate(ordered):
            seq = self.history_observed[i][0]
            if self._ids_of(seq)[0] is not None or expected[k].user_id is None:
                continue  # only anonymous calls that a later call links are this rule's
            self._check("server.ids.both-link")
            if not self._same_person(expected[k], observed[k]):
                self._violate("server.ids.both-link",
                              f"downstream, the event of step {seq} resolves to {observed[k]} "
                              f"instead of {expected[k]}",
                              expected=str(expected[k]), observed=str(observed[k]), step=seq)


def _iso(stamp: int | None) -> str | None:
    """Epoch ms as UTC ISO text, for a message a person reads."""
    if stamp is None:
        return None
    return datetime.fromtimestamp(stamp / 1000, tz=timezone.utc).isoformat(timespec="milliseconds")


def _time_difference(given: int, arrived: int | None) -> str:
    """'none', or how far the time that arrived is from the one given: '3.5 s later'."""
    if arrived is None:
        return "none"
    delta = arrived - given
    direction = "later" if delta > 0 else "earlier"
    seconds = f"{abs(delta) / 1000:,.3f}".rstrip("0").rstrip(".")
    return f"{seconds} s {direction}: {_iso(arrived)}"


def _dual(event: Event) -> Event:
    """The event with its anonymous key in ``anonymous_id``, whatever field carried it."""
    key = event.anonymous_key
    return event if key == event.anonymous_id else attrs.evolve(event, anonymous_id=key)


def _wire_ids(event: Event) -> dict[str, str]:
    """Every id field an event carries on the wire."""
    fields = {"user_id": event.user_id, "anonymous_id": event.anonymous_id,
              "distinct_id": event.distinct_id, "device_id": event.device_id}  # fmt: skip
    return {k: v for k, v in fields.items() if v is not None}


def rewritten(want: Event, got: Event) -> str:
    """How the SDK changed an id it was given, when it is one of the usual rewrites, or ''.

    Named so that an expected failure can pin *which* deviation it is ("truncated to 1024
    characters" is not "lower-cased"); ids taken from elsewhere are classified separately.
    """
    arrived = list(_wire_ids(got).values())
    for name, given in (("user_id", want.user_id), ("anonymous_id", want.anonymous_id)):
        if not given or given in arrived:
            continue
        for value in arrived:
            if value.lower() == given.lower():
                return f"{name} case changed"
            if value == given.strip():
                return f"{name} whitespace trimmed"
            if len(value) < len(given) and given.startswith(value):
                return f"{name} truncated from {len(given)} to {len(value)} characters"
        if not arrived or all(v in {want.user_id, want.anonymous_id} for v in arrived):
            return f"{name} dropped"
    return ""


def payload_difference(want: tuple[dict[str, Any], dict[str, Any]],
                       got: tuple[dict[str, Any], dict[str, Any]]) -> str:  # fmt: skip
    """How the properties and traits that arrived differ from the call's, in a few words.

    ``properties added '$lib'; traits changed 'plan'``: the keys that appeared, went missing
    or changed value, so an expected failure can pin which keys (its ``match``).
    """
    parts = [difference("properties", want[0], got[0]), difference("traits", want[1], got[1])]
    return "; ".join(p for p in parts if p) or "the same keys and values, in another form"


def difference(part: str, wanted: Mapping[str, Any], arrived: Mapping[str, Any], *,
               added: bool = True) -> str:  # fmt: skip
    """``context added 'library'; context changed 'ip'``: the keys that differ, or ''.

    ``added=False`` leaves out the keys only ``arrived`` has (those an SDK may add).
    """
    parts = []
    for verb, keys in (("added", arrived.keys() - wanted.keys() if added else set()),
                       ("lost", wanted.keys() - arrived.keys()),
                       ("changed", {k for k in wanted.keys() & arrived.keys() if wanted[k] != arrived[k]})):  # fmt: skip
        if keys:
            parts.append(f"{part} {verb} " + ", ".join(repr(k) for k in sorted(keys, key=str)))
    return "; ".join(parts)
