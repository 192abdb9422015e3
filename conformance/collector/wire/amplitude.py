"""Amplitude's wire format (SEMANTICS.md 2.3, 5.6): ``/2/httpapi`` and ``/batch``.

Bodies are ``{"api_key": ..., "events": [...]}``; the reply is the HTTP API's JSON
(``code``, ``events_ingested``...), which both SDKs read: the browser SDK takes the
delivery's status from ``code`` (analytics-core ``BaseTransport.buildResponse``). The
browser SDK (@amplitude/analytics-browser) posts the same body to ``/2/httpapi`` with
``options``, ``client_upload_time`` and ``request_metadata`` beside it, and its events
carry ``session_id``, ``event_id``, ``platform``... as well; those are not identity and are
ignored. Its ``user_id`` is omitted when unset, ``null`` after ``setUserId(null)`` and kept
as sent otherwise (``""`` included). It needs no configuration endpoint from the collector
(the bridge turns ``fetchRemoteConfig`` off), so there are no stub routes.
"""

from __future__ import annotations

import json
from typing import Any, Final

from conformance.collector.wire.common import (
    JSON_REPLY,
    POST,
    Decoded,
    Request,
    Route,
    WireError,
    json_body,
    show,
)
from conformance.collector.wire.fields import (
    as_list,
    as_object,
    epoch_ms,
    opt_dict,
    opt_str,
    req_str,
)
from simulator import Event, Kind


def _amplitude(req: Request) -> Decoded:
    doc = as_object(json_body(req), "request body")
    events = as_list(doc.get("events"), "request body.events")
    decoded = tuple(
        _amplitude_event(item, f"events[{i}]", req.source) for i, item in enumerate(events)
    )
    reply = {
        "code": 200,
        "events_ingested": len(decoded),
        "payload_size_bytes": len(req.body),
        "server_upload_time": 0,
    }
    return Decoded(events=decoded, reply=json.dumps(reply).encode())


def _amplitude_event(raw: Any, where: str, source: str) -> Event:
    """One Amplitude event (SEMANTICS.md 5.6).

    ``$identify`` is IDENTIFY with traits ``user_properties.$set``; ``$groupidentify`` is
    GROUP with ``name`` = the group type and ``group_id`` = the group name (from the single
    entry of ``groups``) and traits ``group_properties.$set``; anything else is TRACK.
    ``time`` is already epoch ms.
    """
    event = as_object(raw, where, "a JSON object (an Amplitude event)")
    event_type = req_str(event, "event_type", where)
    traits: dict[str, Any] = {}
    name: str | None = event_type
    group_id = None
    if event_type == "$identify":
        kind, name = Kind.IDENTIFY, None
        user_props = opt_dict(event, "user_properties", where)
        traits = opt_dict(user_props, "$set", f"{where}.user_properties")
    elif event_type == "$groupidentify":
        kind, name = Kind.GROUP, None
        groups = opt_dict(event, "groups", where)
        if len(groups) > 1:
            msg = f"{where}.groups must name one group in a $groupidentify, got {show(groups)}"
            raise WireError(msg)
        for group_type in groups:
            name, group_id = group_type, opt_str(groups, group_type, f"{where}.groups")
        group_props = opt_dict(event, "group_properties", where)
        traits = opt_dict(group_props, "$set", f"{where}.group_properties")
    else:
        kind = Kind.TRACK
    return Event(
        kind=kind,
        name=name,
        user_id=opt_str(event, "user_id", where),
        device_id=opt_str(event, "device_id", where),
        group_id=group_id,
        properties=opt_dict(event, "event_properties", where),
        traits=traits,
        message_id=opt_str(event, "insert_id", where),
        timestamp=epoch_ms(event.get("time"), f"{where}.time", seconds_if_small=False),
        source=source,
    )


ROUTES: Final = tuple(Route(POST, path, _amplitude) for path in ("/2/httpapi", "/batch"))
"""Amplitude's endpoints, relative to the ``/amplitude`` mount."""


def amplitude_error(status: int, reason: str) -> tuple[str, str]:
    """Amplitude's HTTP V2 API error shape: the status again as ``code``, and ``error``.

    amplitude-analytics reads ``code`` from every reply, error replies included, to decide
    whether to retry.
    """
    return json.dumps({"code": status, "error": reason}), JSON_REPLY
