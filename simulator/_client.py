"""The reference client SDK: automatic anonymous ids, identify, reset, persistence.

Correct under every profile: it is the executable statement of what the core
requirements mean, parameterised by the profile's designed behaviour.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from simulator._errors import InvalidValueError, check_id, check_mapping, describe
from simulator._ids import IdSource
from simulator._outbox import _EMPTY, _SCALARS, Outbox, WireIds, _deep_copy, snapshot
from simulator._profiles import IdentifyEmits, IdentifyOther, IdModel, Profile
from simulator._records import Kind

_TRACK = Kind.TRACK  # a module constant: read once per track call, not looked up on the enum
_IDENTIFY_FIX = "Identify needs the application's id for the user, e.g. identify('user-42')."


@attrs.define
class StoredIdentity:
    """What a client keeps in its storage (cookie, local storage, a file on a phone)."""

    anonymous_id: str
    device_id: str | None = None
    user_id: str | None = None
    traits: dict[str, Any] = attrs.Factory(dict)


class ClientClosedError(InvalidValueError):
    """A call on a client after ``close()``."""


class ReferenceClient:
    """One client (device) of the reference SDK, opened on a storage key.

    Open it through :meth:`simulator.ReferenceSDK.open_client`.
    """

    __slots__ = ("_ids", "_queue", "_state", "_wire_ids", "closed", "key", "profile")

    def __init__(
        self, key: str, state: StoredIdentity, profile: Profile, outbox: Outbox, ids: IdSource
    ) -> None:
        self.key = key
        self.profile = profile
        self.closed = False
        self._state = state
        self._queue = outbox.pending
        self._ids = ids
        self._refresh()

    def __repr__(self) -> str:
        return f"ReferenceClient(key={self.key!r}, profile={self.profile.name!r})"

    # -- identity as the wire shows it -------------------------------------------------
    _wire_ids: WireIds

    def _refresh(self) -> None:
        """Recompute the ids every call carries from the stored identity (off the hot path)."""
        state, model = self._state, self.profile.id_model
        if model is IdModel.DUAL:
            self._wire_ids = (state.user_id, state.anonymous_id, None, None, self.key)
        elif model is IdModel.SWITCHING:
            distinct_id = state.user_id or state.anonymous_id
            self._wire_ids = (state.user_id, None, state.device_id, distinct_id, self.key)
        else:
            self._wire_ids = (state.user_id, None, state.anonymous_id, None, self.key)

    @property
    def user_id(self) -> str | None:
        """The identified user, or ``None`` while anonymous."""
        return self._state.user_id

    @property
    def anonymous_id(self) -> str:
        """The automatically assigned anonymous (or device) id."""
        return self._state.anonymous_id

    @property
    def device_id(self) -> str | None:
        """The device id of a switching-id profile (``$device_id``); ``None`` for the others."""
        return self._state.device_id

    @property
    def traits(self) -> Mapping[str, Any]:
        """Traits set since the last reset or change of user."""
        return self._state.traits

    # -- operations ------------------------------------------------------------------------
    def track(self, name: str, properties: Mapping[str, Any] | None = None) -> None:
        """Record an event on behalf of whoever is current now."""
        if type(name) is not str or not name or self.closed:
            self._reject_track(name, properties)
        carried: Mapping[str, Any]
        if properties is None:
            carried = _EMPTY
        elif type(properties) is dict and properties:
            # snapshot() inlined: on this path a function call costs as much as the copy.
            carried = properties.copy()
            for value in carried.values():
                if type(value) not in _SCALARS:
                    carried = _deep_copy(carried)
                    break
        else:
            self._reject_track(name, properties)
            carried = snapshot(properties)
        self._queue.append((_TRACK, name, self._wire_ids, None, None, carried, _EMPTY, None))

    def _reject_track(self, name: object, properties: object) -> None:
        self._check_open()
        check_id(name, "event name", "Name the event, e.g. track('Signed Up').")
        check_mapping(properties, "properties")

    def identify(self, user_id: str, traits: Mapping[str, Any] | None = None) -> None:
        """Declare the current user; anonymous history since the last reset joins them."""
        self._check_open()
        check_id(user_id, "user_id", _IDENTIFY_FIX)
        check_mapping(traits, "traits")
        state, profile = self._state, self.profile
        previous_distinct = state.user_id or state.anonymous_id
        was_anonymous = state.user_id is None
        changed = state.user_id != user_id
        if state.user_id is not None and changed:
            other = profile.identify_other
            state.traits = {}
            if other is IdentifyOther.ROTATE_ANONYMOUS:
                state.anonymous_id = self._ids.new_id()
            # RESET_KEEP_ANONYMOUS, SWITCH and SWITCH_EMIT_MERGE keep the anonymous id.
        new_traits = snapshot(traits)
        state.user_id = user_id
        state.traits.update(new_traits)
        self._refresh()
        emits = profile.identify_emits
        if emits is IdentifyEmits.NEVER:
            return
        if emits is IdentifyEmits.ON_CHANGE and not changed:
            return
        if emits is IdentifyEmits.ON_ANONYMOUS_TO_IDENTIFIED and not was_anonymous:
            return
        previous_id = None
        if profile.id_model is IdModel.SWITCHING:
            previous_id = previous_distinct if changed else None
        carried = dict(state.traits) if profile.identify_carries_merged_traits else new_traits
        self._emit(Kind.IDENTIFY, None, previous_id, None, carried)

    def reset(self) -> None:
        """Log out: forget the user and their traits; rotate the anonymous (and device) id per profile."""
        self._check_open()
        state = self._state
        state.user_id = None
        state.traits = {}
        if self.profile.reset_rotates_anonymous_id:
            state.anonymous_id = self._ids.new_id()
        if self.profile.reset_rotates_device_id and state.device_id is not None:
            state.device_id = self._ids.new_id()
        self._refresh()

    def alias(self, new_id: str) -> None:
        """Declare that ``new_id`` names the current person (profiles with alias only)."""
        self._check_open()
        check_id(new_id, "new_id", "Pass the id to alias the current person to, e.g. alias('u-2').")
        if not self.profile.alias_supported:
            msg = (
                f"profile {self.profile.name!r} has no alias; alias({new_id!r}) is not available. "
                "Use a profile with alias_supported=True, e.g. 'segment'."
            )
            raise InvalidValueError(msg)
        previous = self._state.user_id or self._state.anonymous_id
        _, anonymous_id, device_id, distinct_id, source = self._wire_ids
        ids = (new_id, anonymous_id, device_id, distinct_id, source)
        self._queue.append((Kind.ALIAS, None, ids, previous, None, _EMPTY, _EMPTY, None))

    def group(self, group_id: str, traits: Mapping[str, Any] | None = None) -> None:
        """Associate the current person with a group (account, company)."""
        self._check_open()
        check_id(group_id, "group_id", "Pass the group's id, e.g. group('acme').")
        check_mapping(traits, "traits")
        self._queue.append(
            (Kind.GROUP, None, self._wire_ids, None, group_id, _EMPTY, snapshot(traits), None)
        )

    def close(self) -> None:
        """Stop using this client; its identity stays in storage when the profile persists."""
        self.closed = True

    def _emit(
        self,
        kind: Kind,
        name: str | None,
        previous_id: str | None,
        group_id: str | None,
        traits: Mapping[str, Any],
    ) -> None:
        self._queue.append((kind, name, self._wire_ids, previous_id, group_id, _EMPTY, traits, None))

    def _check_open(self) -> None:
        if self.closed:
            msg = (
                f"client {self.key!r} is closed (got a call on {describe(self)}). "
                "Open a new client on the same storage key instead."
            )
            raise ClientClosedError(msg)
