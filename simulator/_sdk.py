"""The reference SDK: one long-lived instance owning clients, a server API and an outbox."""

from __future__ import annotations

from collections.abc import Callable

import attrs

from simulator._client import ReferenceClient, StoredIdentity
from simulator._errors import check_id
from simulator._ids import IdSource
from simulator._outbox import Outbox
from simulator._profiles import IdModel, Profile, get_profile
from simulator._records import Event
from simulator._server import ReferenceServer


@attrs.define
class ReferenceSDK:
    """The reference implementation every adapter-wrapped SDK is compared with.

    >>> sdk = ReferenceSDK(profile="seed", seed=1)
    >>> phone = sdk.open_client("phone")
    >>> phone.track("Opened App")
    >>> phone.identify("user-42")
    >>> [e.user_id for e in sdk.flush()]
    [None, 'user-42']
    """

    profile: Profile = attrs.field(default="seed", converter=get_profile)  # type: ignore[assignment]  # a name converts to its Profile
    seed: int = 0
    deliver: Callable[[list[Event]], None] | None = attrs.field(default=None, repr=False)
    outbox: Outbox = attrs.field(init=False, repr=False)
    storage: dict[str, StoredIdentity] = attrs.field(init=False, repr=False, factory=dict)
    ids: IdSource = attrs.field(init=False, repr=False)
    server: ReferenceServer = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self.outbox = Outbox(deliver=self.deliver)
        self.ids = IdSource(self.seed)
        self.server = ReferenceServer(self.outbox)

    def open_client(self, storage_key: str) -> ReferenceClient:
        """Open a client on ``storage_key``: same key, same device; identity resumes if stored."""
        check_id(storage_key, "storage_key", "Name the device, e.g. open_client('phone').")
        state = self.storage.get(storage_key) if self.profile.persistence else None
        if state is None:
            state = self._new_identity()
            if self.profile.persistence:
                self.storage[storage_key] = state
        return ReferenceClient(storage_key, state, self.profile, self.outbox, self.ids)

    def _new_identity(self) -> StoredIdentity:
        anonymous_id = self.ids.new_id()
        device_id = None
        if self.profile.id_model is IdModel.SWITCHING:
            device_id = anonymous_id if self.profile.device_id_starts_as_anonymous_id else self.ids.new_id()
        return StoredIdentity(anonymous_id=anonymous_id, device_id=device_id)

    def flush(self) -> list[Event]:
        """Deliver everything pending and return it as events, in call order."""
        return self.outbox.flush()
