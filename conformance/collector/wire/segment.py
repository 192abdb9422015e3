"""Segment's wire format, which RudderStack shares: ``/v1/batch`` and the single-call paths.

RudderStack's SDKs are forks of Segment's and send the same messages to the same paths
(SEMANTICS.md 5.2, 5.3), so one decoder serves both. The two vendors differ only in the
configuration endpoint their browser SDKs fetch first, so this module declares two route
tables over the same event routes: :data:`SEGMENT_ROUTES` (mounted at ``/segment``) and
:data:`RUDDERSTACK_ROUTES` (mounted at ``/rudderstack``). Requests under either prefix
decode identically; the prefix shows in each event's ``source``, which is how a reader tells
``/segment/v1/batch`` from ``/rudderstack/v1/batch``.
"""

from __future__ import annotations

import json
from typing import Any, Final

from conformance.collector.wire.common import (
    JSON_REPLY,
    POST,
    TEXT_REPLY,
    Decoded,
    Request,
    Route,
    WireError,
    json_body,
    show,
    status_slug,
    stub,
)
from conformance.collector.wire.fields import as_list, as_object, iso_ms, opt_dict, opt_str
from simulator import Event, Kind

_SEGMENT_KINDS: Final = {
    "track": Kind.TRACK,
    "identify": Kind.IDENTIFY,
    "alias": Kind.ALIAS,
    "group": Kind.GROUP,
    "page": Kind.PAGE,
    "screen": Kind.SCREEN,
}
# SEMANTICS.md 5.2/5.3 (server single-call paths) and 6.2 (analytics-next short paths).
_SEGMENT_SINGLE: Final = {
    "/v1/track": "track",
    "/v1/identify": "identify",
    "/v1/alias": "alias",
    "/v1/group": "group",
    "/v1/page": "page",
    "/v1/screen": "screen",
    "/v1/t": "track",
    "/v1/i": "identify",
    "/v1/a": "alias",
    "/v1/g": "group",
    "/v1/p": "page",
}


# RudderStack's browser BeaconQueue (``useBeacon: true``) posts ``{batch, sentAt}`` as a
# text/plain Blob with navigator.sendBeacon to ``{dataPlaneUrl}/beacon/v1/batch?writeKey=``;
# the body is a ``/v1/batch`` body (SEMANTICS.md 2.5).
_BATCH_PATHS: Final = frozenset({"/v1/batch", "/beacon/v1/batch"})


def _segment(req: Request) -> Decoded:
    doc = json_body(req)
    if req.path in _BATCH_PATHS:
        batch = as_list(as_object(doc, "request body").get("batch"), "request body.batch")
        events = [
            _segment_message(msg, f"batch[{i}]", None, req.source) for i, msg in enumerate(batch)
        ]
    else:
        events = [_segment_message(doc, "request body", _SEGMENT_SINGLE[req.path], req.source)]
    return Decoded(events=tuple(events), reply=b'{"success":true}')


def _segment_message(msg: Any, where: str, implied: str | None, source: str) -> Event:
    """One Segment/RudderStack message.

    ``userId`` ``""`` (RudderStack's anonymous value) and ``null`` both decode to ``None``.
    IDENTIFY traits are the top-level ``traits`` when non-empty, else ``context.traits``
    (RudderStack); GROUP traits are the top-level ``traits`` whenever that key is present
    (``context.traits`` then holds the *user's* traits), else ``context.traits``.
    """
    msg = as_object(msg, where, "a JSON object (a Segment/RudderStack message)")
    type_name = opt_str(msg, "type", where) or implied
    kind = _SEGMENT_KINDS.get(type_name or "")
    if kind is None:
        msg_text = f"{where}.type must be one of {sorted(_SEGMENT_KINDS)}, got {show(type_name)}"
        raise WireError(msg_text)
    context = opt_dict(msg, "context", where)
    traits: dict[str, Any] = {}
    top_traits = opt_dict(msg, "traits", where)
    if kind is Kind.IDENTIFY:
        traits = top_traits or opt_dict(context, "traits", f"{where}.context")
    elif kind is Kind.GROUP:
        traits = top_traits if "traits" in msg else opt_dict(context, "traits", f"{where}.context")
    if kind is Kind.TRACK:
        name = opt_str(msg, "event", where)
    elif kind in {Kind.PAGE, Kind.SCREEN}:
        name = opt_str(msg, "name", where)
    else:
        name = None
    stamp_key = "timestamp" if msg.get("timestamp") is not None else "originalTimestamp"
    return Event(
        kind=kind,
        name=name,
        user_id=opt_str(msg, "userId", where) or None,
        anonymous_id=opt_str(msg, "anonymousId", where),
        previous_id=opt_str(msg, "previousId", where),
        group_id=opt_str(msg, "groupId", where),
        properties=opt_dict(msg, "properties", where),
        traits=traits,
        context=context,
        message_id=opt_str(msg, "messageId", where),
        timestamp=iso_ms(msg.get(stamp_key), f"{where}.{stamp_key}"),
        source=source,
    )


_RUDDERSTACK_SOURCE_CONFIG: Final = {
    "isHosted": False,
    "source": {
        "config": {},
        "destinations": [],
        "enabled": True,
        "id": "identity-conformance",
        "name": "identity-conformance",
        "workspaceId": "identity-conformance",
    },
}


_EVENT_ROUTES: Final = (
    Route(POST, "/v1/batch", _segment),
    *(Route(POST, path, _segment) for path in _SEGMENT_SINGLE),
)

SEGMENT_ROUTES: Final = (
    *_EVENT_ROUTES,
    # Stub: analytics.js (analytics-next) loads its CDN settings before it sends anything;
    # pointed at the collector (cdnURL), it gets an empty Segment.io destination config,
    # so events go to the apiHost it was given.
    stub("/v1/projects/{key}/settings", {"integrations": {"Segment.io": {}}}),
)
"""Segment's endpoints, relative to the ``/segment`` mount."""

RUDDERSTACK_ROUTES: Final = (
    *_EVENT_ROUTES,
    # The browser SDK (@rudderstack/analytics-js v3): XhrQueue posts one event to
    # /v1/<type> (the single-call paths above) or, with queueOptions.batch, /v1/batch;
    # BeaconQueue posts its batch here.
    Route(POST, "/beacon/v1/batch", _segment),
    # Stub: rudder-sdk-js fetches its source config (configUrl + /sourceConfig/) before it
    # sends anything; this answers an enabled source with no device-mode destinations.
    *(stub(path, _RUDDERSTACK_SOURCE_CONFIG) for path in ("/sourceConfig", "/sourceConfig/")),
)
"""RudderStack's endpoints, relative to the ``/rudderstack`` mount."""


def segment_error(status: int, reason: str) -> tuple[str, str]:
    """Segment's API error shape: JSON with a machine-readable ``code`` and a ``message``.

    These are the two keys the analytics-python lineage parses from an error reply
    (rudder-sdk-python's ``request.post`` still reads ``payload['code']`` and
    ``payload['message']``).
    """
    return json.dumps({"code": status_slug(status), "message": reason}), JSON_REPLY


def rudderstack_error(status: int, reason: str) -> tuple[str, str]:
    """RudderStack's gateway error shape: the reason as plain text (``http.Error`` in rudder-server).

    rudder-sdk-python parses a JSON error for ``code`` and ``message`` and falls back to
    the text when the body is not JSON, which is the path the real gateway takes.
    """
    del status
    return reason + "\n", TEXT_REPLY
