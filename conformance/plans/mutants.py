"""Faulty tracking-function wrappers, each with the one rule of :mod:`conformance.plans.wrapper` it breaks.

All are written against :data:`MUTANT_PLAN` (a client source ``app`` and a server source
``api`` with the anonymous-id parameter enabled). :class:`CorrectClient` and
:class:`CorrectServer` are hand-written correct wrappers, so the checks are shown to pass
code that is not the generator's too; each mutant overrides one function with one bug.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import SimpleNamespace
from typing import Any

import attrs

from conformance.plans.load import parse_plan
from conformance.plans.model import Plan

MUTANT_PLAN_DATA: Mapping[str, Any] = {
    "version": 1,
    "name": "Wrapper mutants",
    "sources": [
        {"name": "app", "platform": "client"},
        {"name": "api", "platform": "server", "anonymous_user_id": True},
    ],
    "events": [
        {"name": "Signed In", "sources": ["app"], "actions": ["Identify", "LogEvent"],
         "properties": [{"name": "Method", "type": "string", "allowed_values": ["password", "sso"]}]},
        {"name": "Signed Out", "sources": ["app"], "actions": ["LogEvent", "Unidentify"]},
        {"name": "Page Viewed", "sources": ["app", "api"], "actions": ["LogEvent"],
         "properties": [{"name": "Path", "type": "string"}]},
    ],
}  # fmt: skip
"""The plan every mutant is checked against."""


def mutant_plan() -> Plan:
    """:data:`MUTANT_PLAN_DATA` as a :class:`Plan`."""
    return parse_plan(MUTANT_PLAN_DATA, "the mutant plan")


class CorrectClient:
    """A correct hand-written wrapper for source ``app``."""

    def __init__(self, sdk: Any) -> None:
        self._sdk = sdk

    def signed_in(self, *, user_id: str, method: str) -> None:
        """Identify, then track."""
        if user_id is None:
            msg = "signed_in needs a user_id"
            raise TypeError(msg)
        self._sdk.identify(user_id, {})
        self._sdk.track("Signed In", {"Method": method})

    def signed_out(self) -> None:
        """Track, then reset."""
        self._sdk.track("Signed Out", {})
        self._sdk.reset()

    def page_viewed(self, *, path: str) -> None:
        """Track."""
        self._sdk.track("Page Viewed", {"Path": path})


class CorrectServer:
    """A correct hand-written wrapper for source ``api``."""

    def __init__(self, sdk: Any) -> None:
        self._sdk = sdk

    def page_viewed(self, *, user_id: str | None, path: str, anonymous_user_id: str | None = None) -> None:
        """Track with both ids; refuse neither."""
        if user_id is None and anonymous_user_id is None:
            msg = "page_viewed needs a user_id or an anonymous_user_id"
            raise ValueError(msg)
        self._sdk.track("Page Viewed", {"Path": path}, user_id=user_id, anonymous_id=anonymous_user_id)


class _IdentifyWithoutUserId(CorrectClient):
    def signed_in(self, *, method: str, user_id: str | None = None) -> None:
        """Bug: user_id is optional, so a caller can track a sign-in without identifying."""
        if user_id is not None:
            self._sdk.identify(user_id, {})
        self._sdk.track("Signed In", {"Method": method})


class _IdentifyAfterEvent(CorrectClient):
    def signed_in(self, *, user_id: str, method: str) -> None:
        """Bug: the event is tracked first, so it is sent as whoever was current before."""
        if user_id is None:
            msg = "signed_in needs a user_id"
            raise TypeError(msg)
        self._sdk.track("Signed In", {"Method": method})
        self._sdk.identify(user_id, {})


class _UnidentifyIsIdentifyNone(CorrectClient):
    def signed_out(self) -> None:
        """Bug: Unidentify as identify(None), as some Avo docs show, instead of reset()."""
        self._sdk.track("Signed Out", {})
        self._sdk.identify(None, {})


class _ResetBeforeEvent(CorrectClient):
    def signed_out(self) -> None:
        """Bug: reset first, so the sign-out is sent anonymous."""
        self._sdk.reset()
        self._sdk.track("Signed Out", {})


class _ClientTakesAnonymousId(CorrectClient):
    def page_viewed(self, *, path: str, anonymous_id: str | None = None) -> None:
        """Bug: a client function takes an anonymous id, which the client SDK owns."""
        self._sdk.track("Page Viewed", {"Path": path, **({"anonymous_id": anonymous_id} if anonymous_id else {})})


class _ClientDropsProperty(CorrectClient):
    def page_viewed(self, *, path: str) -> None:
        """Bug: the property is sent under a name the plan does not have."""
        self._sdk.track("Page Viewed", {"path": path})


class _ServerDropsAnonymousId(CorrectServer):
    def page_viewed(self, *, user_id: str | None, path: str, anonymous_user_id: str | None = None) -> None:
        """Bug: anonymous_user_id is accepted and then dropped."""
        if user_id is None and anonymous_user_id is None:
            msg = "page_viewed needs a user_id or an anonymous_user_id"
            raise ValueError(msg)
        self._sdk.track("Page Viewed", {"Path": path}, user_id=user_id, anonymous_id=None)


class _ServerAcceptsNoIds(CorrectServer):
    def page_viewed(self, *, user_id: str | None, path: str, anonymous_user_id: str | None = None) -> None:
        """Bug: a call with neither id is sent, as nobody."""
        self._sdk.track("Page Viewed", {"Path": path}, user_id=user_id, anonymous_id=anonymous_user_id)


@attrs.frozen
class WrapperMutant:
    """A faulty wrapper (``SOURCE`` plus its class, as a module would have) and the rule it breaks."""

    name: str
    rule: str
    wrapper: Any
    description: str


def _client(cls: type[CorrectClient]) -> SimpleNamespace:
    return SimpleNamespace(SOURCE="app", ClientTracking=cls)


def _server(cls: type[CorrectServer]) -> SimpleNamespace:
    return SimpleNamespace(SOURCE="api", ServerTracking=cls)


CORRECT = (_client(CorrectClient), _server(CorrectServer))
"""The correct wrappers, one per source of :data:`MUTANT_PLAN_DATA`."""

MUTANTS = (
    WrapperMutant("identify-without-user-id", "wrapper.client.identify-requires-user-id",
                  _client(_IdentifyWithoutUserId), "an Identify-event function whose user_id is optional"),
    WrapperMutant("identify-after-event", "wrapper.client.identify-before-event",
                  _client(_IdentifyAfterEvent), "identify called after the event is tracked"),
    WrapperMutant("unidentify-identify-none", "wrapper.client.unidentify-is-reset",
                  _client(_UnidentifyIsIdentifyNone), "Unidentify mapped to identify(None)"),
    WrapperMutant("reset-before-event", "wrapper.client.unidentify-after-event",
                  _client(_ResetBeforeEvent), "Unidentify's reset() before the event is tracked"),
    WrapperMutant("client-takes-anonymous-id", "wrapper.client.no-anonymous-id",
                  _client(_ClientTakesAnonymousId), "a client function that takes an anonymous id"),
    WrapperMutant("client-renames-property", "wrapper.event.properties",
                  _client(_ClientDropsProperty), "a property sent under another name"),
    WrapperMutant("server-drops-anonymous-id", "wrapper.server.ids-passed-through",
                  _server(_ServerDropsAnonymousId), "a server function that drops anonymous_user_id"),
    WrapperMutant("server-accepts-no-ids", "wrapper.server.refuses-no-ids",
                  _server(_ServerAcceptsNoIds), "a server function that sends a call with neither id"),
)  # fmt: skip
"""Every wrapper mutant; ``tests/test_plans_wrapper.py`` checks each is caught by its rule alone."""
