"""Mixpanel's wire format (SEMANTICS.md 2.4, 5.5): ``/track``, ``/engage``, ``/groups``, ``/import``.

Each accepts POST or GET, with or without a trailing slash, and ignores the query's other
fields (mixpanel-browser adds ``verbose``, ``ip`` and a ``_`` cache buster). The payload is
``data=<JSON>`` (mixpanel-python) or ``data=<base64 JSON>`` (mixpanel-browser) in a form
body (also as a ``sendBeacon`` text/plain body) or the query string, or a plain JSON body;
one record or a batch array. ``/engage`` carries people records (IDENTIFY) and ``/groups``
group records (GROUP); the others carry events. The canonical ``properties`` drop
:data:`MIXPANEL_AUTOMATIC_PROPERTIES`, and people traits drop
:data:`MIXPANEL_PEOPLE_AUTOMATIC_PROPERTIES`.
"""

from __future__ import annotations

import json
from typing import Any, Final

from conformance.collector.wire.common import (
    FORM_MEDIA,
    JSON_REPLY,
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
    js_numbers,
    opt_dict,
    opt_str,
    req_str,
    without,
)
from simulator import Event, Kind

# SEMANTICS.md section 5.5 (Mixpanel event fields added by the library) plus the identity
# keys of section 4.2 knob 26, plus what mixpanel-browser adds to every event (SEMANTICS.md
# 2.4; mixpanel-js src/utils.js ``_.info.properties``, the persisted referrer super
# properties, ``mp_sent_by_lib_version`` from src/request-batcher.js, ``$duration`` of
# ``time_event``); dropped from canonical ``properties``.
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
        "$had_persisted_distinct_id",
        "$os",
        "$browser",
        "$browser_version",
        "$device",
        "$current_url",
        "$referrer",
        "$referring_domain",
        "$screen_height",
        "$screen_width",
        "$initial_referrer",
        "$initial_referring_domain",
        "$search_engine",
        "mp_keyword",
        "mp_loader",
        "mp_sent_by_lib_version",
        "$duration",
    }
)
# What mixpanel-browser adds to every people ``$set`` (src/utils.js
# ``_.info.people_properties``); dropped from canonical ``traits``.
MIXPANEL_PEOPLE_AUTOMATIC_PROPERTIES: Final = frozenset({"$os", "$browser", "$browser_version"})


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
        doc = parse_json(_browser_text(b64decode(text, "data")), "base64-decoded data")
        doc = js_numbers(doc)
    if not isinstance(doc, (dict, list)):
        msg = f"data must be a JSON object or array, got {show(doc)}"
        raise WireError(msg)
    return doc


def _browser_text(raw: bytes) -> str:
    r"""The text of a base64 ``data`` payload, decoded as a browser's ``TextDecoder`` would.

    mixpanel-browser's own encoder (mixpanel-js src/utils.js ``_.utf8Encode``, open issue
    mixpanel/mixpanel-js#385) writes each UTF-16 code unit as UTF-8, so a character beyond
    the BMP (an emoji) arrives as two encoded surrogates: bytes that are not UTF-8. They are
    read as U+FFFD, the WHATWG decoder's replacement, and never as the character itself:
    the event arrives, with the text the SDK really sent, and the payload check reports the
    difference; refusing the request instead would make the SDK drop its whole batch (it
    drops a batch answered 4xx), so unrelated events would be reported lost. An escaped
    lone surrogate (``\ud800``) is still refused, as everywhere.
    """
    return raw.decode("utf-8-sig", "replace")


def _decode_text(body: bytes, what: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        msg = f"{what} is not UTF-8 ({exc})"
        raise WireError(msg) from None


def _event_time(props: dict[str, Any], where: str) -> int | None:
    """``time`` in epoch ms; ``None`` when it is not a number.

    mixpanel-python merges the caller's properties over its own ``time``, so the value may be
    caller data of any type (an ISO string, say). What Mixpanel's API does with such an event
    cannot be checked here, so the collector neither refuses it nor guesses a time: the
    event arrives without one, and the checks see its ``time`` property gone.
    """
    value = props.get("time")
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return epoch_ms(value, f"{where}.time", seconds_if_small=True)


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
        timestamp=_event_time(props, props_where),
        source=source,
    )


def _mixpanel_engage(raw: Any, where: str, source: str) -> Event:
    """Decode a people record: IDENTIFY with traits = ``$set`` (other operations are not kept).

    ``distinct_id`` = ``$distinct_id`` (a string, or null as mixpanel-browser sends it after
    ``identify(null)``); ``user_id`` = ``$user_id`` if present, else ``$distinct_id``;
    ``device_id`` = ``$device_id``; ``$time`` as for events. A record without ``$set``
    (``$set_once``, ``$unset``, ``$add``...) is still a profile update of that person: an
    IDENTIFY with no traits. The browser's own ``$set`` additions
    (:data:`MIXPANEL_PEOPLE_AUTOMATIC_PROPERTIES`) are not traits.
    """
    record = as_object(raw, where, "a JSON object (a Mixpanel people record)")
    if "$distinct_id" not in record:
        msg = f"{where} has no $distinct_id; a people record names its person"
        raise WireError(msg)
    distinct = opt_str(record, "$distinct_id", where)
    explicit_user = opt_str(record, "$user_id", where)
    return Event(
        kind=Kind.IDENTIFY,
        user_id=explicit_user if explicit_user is not None else distinct,
        device_id=opt_str(record, "$device_id", where),
        distinct_id=distinct,
        traits=without(opt_dict(record, "$set", where), MIXPANEL_PEOPLE_AUTOMATIC_PROPERTIES),
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
    # Stub: older mixpanel-browser releases asked /decide for their settings when they
    # loaded; this answers "nothing to configure". 2.83.0 asks nothing in its default
    # configuration: feature flags (``flags``) and remote settings
    # (``remote_settings_mode``) are off unless enabled.
    *(
        stub(path, {"config": {"enable_collect_everything": False}, "notifications": []})
        for path in ("/decide", "/decide/")
    ),
)
"""Mixpanel's endpoints, relative to the ``/mixpanel`` mount."""


def mixpanel_error(status: int, reason: str) -> tuple[str, str]:
    """Mixpanel's ingestion error shape: ``status`` 0 (a refusal) and ``error``.

    mixpanel-python reads ``status`` from every reply, so a reply without it would crash
    the SDK (``KeyError``) where Mixpanel's API makes it raise ``MixpanelException``.
    """
    del status
    return json.dumps({"status": 0, "error": reason}), JSON_REPLY
