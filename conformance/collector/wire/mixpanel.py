"""Mixpanel's wire format (SEMANTICS.md 5.5): ``/track``, ``/engage``, ``/groups``, ``/import``.

Each accepts POST or GET, with or without a trailing slash. The payload is ``data=<JSON>``
(mixpanel-python) or ``data=<base64 JSON>`` (mixpanel-browser) in a form body or the
query string, or a plain JSON body. ``/engage`` carries people records (IDENTIFY) and
``/groups`` group records (GROUP); the others carry events. The canonical ``properties``
drop :data:`MIXPANEL_AUTOMATIC_PROPERTIES`.
"""

from __future__ import annotations

from typing import Any, Final

from conformance.collector.wire.common import (
    FORM_MEDIA,
    POST_OR_GET,
    Decoded,
    Request,
    Route,
    WireError,
    b64decode,
    json_body,
    loads,
    parse_form,
    parse_json,
    refuse_non_strict,
    show,
    stub,
)
from conformance.collector.wire.fields import (
    as_object,
    epoch_ms,
    opt_dict,
    opt_str,
    req_str,
    without,
)
from simulator import Event, Kind

# SEMANTICS.md section 5.5 (Mixpanel event fields added by the library) plus the identity
# keys of section 4.2 knob 26; dropped from canonical ``properties``.
MIXPANEL_AUTOMATIC_PROPERTIES: Final = frozenset(
    {
        "token",
        "distinct_id",
        "time",
        "$insert_id",
        "mp_lib",
        "$lib_version",
        "$device_id",
        "$user_id",
        "$anon_distinct_id",
    }
)


def _mixpanel(req: Request) -> Decoded:
    doc = _mixpanel_payload(req)
    items = doc if isinstance(doc, list) else [doc]
    endpoint = req.path.rstrip("/")
    decode = {"/engage": _mixpanel_engage, "/groups": _mixpanel_group}.get(
        endpoint, _mixpanel_event
    )
    events = tuple(decode(item, f"data[{i}]", req.source) for i, item in enumerate(items))
    return Decoded(events=events, reply=b'{"status":1}')


def _mixpanel_payload(req: Request) -> Any:
    """Extract the JSON inside ``data=`` (form body, or query for GET) or a plain JSON body."""
    if req.method == "GET" or (not req.body and req.query):
        form, what = parse_form(req.query, "query string"), "query string"
    elif req.content_type == "application/json" or req.body.lstrip()[:1] in {b"{", b"["}:
        return json_body(req)
    elif req.content_type in FORM_MEDIA:
        text = _decode_text(req.body, "form body")
        form, what = parse_form(text, "form body"), "form body"
    else:
        msg = (
            f"{req.source} expects form-urlencoded data=<JSON> or a JSON body; got Content-Type "
            f"{req.content_type!r}"
        )
        raise WireError(msg, 415)
    values = form.get("data")
    if not values:
        msg = f"{what} has no data= field; expected data=<JSON or base64 JSON>, got {show(form)}"
        raise WireError(msg)
    text = values[0]
    try:
        doc = loads(text)
    except (ValueError, RecursionError):
        doc = None
    if isinstance(doc, (dict, list)):
        refuse_non_strict(doc, "data")
    else:
        doc = parse_json(b64decode(text, "data"), "base64-decoded data")
    if not isinstance(doc, (dict, list)):
        msg = f"data must be a JSON object or array, got {show(doc)}"
        raise WireError(msg)
    return doc


def _decode_text(body: bytes, what: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        msg = f"{what} is not UTF-8 ({exc})"
        raise WireError(msg) from None


def _mixpanel_event(raw: Any, where: str, source: str) -> Event:
    """One Mixpanel event (SEMANTICS.md 5.5; knob 26).

    Ids come from ``properties``: ``distinct_id``, ``$device_id``, and ``user_id`` by the
    same rule as PostHog (``$user_id`` if present, else ``distinct_id`` for ``$identify``,
    else ``None``). ``$identify`` has ``previous_id`` = ``$anon_distinct_id``;
    ``$create_alias`` is ALIAS with ``user_id`` = ``alias`` and ``previous_id`` =
    ``distinct_id``; ``$merge`` is MERGE with ``distinct_id`` and ``previous_id`` = the two
    ``$distinct_ids``. ``time`` is seconds (epoch ms if at least 1e11).
    """
    event = as_object(raw, where, "a JSON object (a Mixpanel event)")
    name = req_str(event, "event", where)
    props_where = f"{where}.properties"
    props = opt_dict(event, "properties", where)
    distinct = opt_str(props, "distinct_id", props_where)
    explicit_user = opt_str(props, "$user_id", props_where)
    user_id, previous_id, event_name = explicit_user, None, None
    consumed: set[str] = set()
    if name == "$identify":
        kind = Kind.IDENTIFY
        user_id = explicit_user if explicit_user is not None else distinct
        previous_id = opt_str(props, "$anon_distinct_id", props_where)
    elif name == "$create_alias":
        kind = Kind.ALIAS
        user_id = opt_str(props, "alias", props_where)
        previous_id = distinct
        consumed = {"alias"}
    elif name == "$merge":
        kind = Kind.MERGE
        ids = props.get("$distinct_ids")
        if not (isinstance(ids, list) and len(ids) == 2 and all(isinstance(i, str) for i in ids)):
            msg = f"{props_where}.$distinct_ids must be a list of two string ids, got {show(ids)}"
            raise WireError(msg)
        distinct, previous_id = ids
        consumed = {"$distinct_ids"}
    else:
        kind = Kind.TRACK
        event_name = name
    return Event(
        kind=kind,
        name=event_name,
        user_id=user_id,
        device_id=opt_str(props, "$device_id", props_where),
        distinct_id=distinct,
        previous_id=previous_id,
        properties=without(props, MIXPANEL_AUTOMATIC_PROPERTIES, consumed),
        message_id=opt_str(props, "$insert_id", props_where),
        timestamp=epoch_ms(props.get("time"), f"{props_where}.time", seconds_if_small=True),
        source=source,
    )


def _mixpanel_engage(raw: Any, where: str, source: str) -> Event:
    """Decode a people record: IDENTIFY with traits = ``$set`` (other operations are not kept).

    ``distinct_id`` = ``$distinct_id`` (required); ``user_id`` = ``$user_id`` if present,
    else ``$distinct_id``; ``device_id`` = ``$device_id``; ``$time`` as for events.
    """
    record = as_object(raw, where, "a JSON object (a Mixpanel people record)")
    distinct = req_str(record, "$distinct_id", where)
    explicit_user = opt_str(record, "$user_id", where)
    return Event(
        kind=Kind.IDENTIFY,
        user_id=explicit_user if explicit_user is not None else distinct,
        device_id=opt_str(record, "$device_id", where),
        distinct_id=distinct,
        traits=opt_dict(record, "$set", where),
        timestamp=epoch_ms(record.get("$time"), f"{where}.$time", seconds_if_small=True),
        source=source,
    )


def _mixpanel_group(raw: Any, where: str, source: str) -> Event:
    """Decode a group record: GROUP, ``name`` = ``$group_key``, ``group_id`` = ``$group_id``."""
    record = as_object(raw, where, "a JSON object (a Mixpanel group record)")
    return Event(
        kind=Kind.GROUP,
        name=req_str(record, "$group_key", where),
        group_id=req_str(record, "$group_id", where),
        traits=opt_dict(record, "$set", where),
        timestamp=epoch_ms(record.get("$time"), f"{where}.$time", seconds_if_small=True),
        source=source,
    )


ROUTES: Final = (
    *(
        Route(POST_OR_GET, f"/{name}{end}", _mixpanel)
        for name in ("track", "engage", "groups", "import")
        for end in ("/", "")
    ),
    # Stub: mixpanel-browser asks /decide for its settings when it loads; this answers
    # "nothing to configure".
    *(
        stub(path, {"config": {"enable_collect_everything": False}, "notifications": []})
        for path in ("/decide", "/decide/")
    ),
)
"""Mixpanel's endpoints, relative to the ``/mixpanel`` mount."""
