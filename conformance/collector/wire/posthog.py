"""PostHog's wire format (SEMANTICS.md 5.4, 6.2): ``/batch/``, ``/e/``, ``/capture/``, ``/i/v0/e/``.

Bodies are one event, a JSON array of events or ``{"batch": [...]}``. posthog-js encodes
them three ways (``packages/browser/src/request.ts``, ``encodePostData``):

* gzip (its default, ``compression: gzip-js``): the gzip bytes as a ``text/plain`` body.
  Older releases flagged it in the query (``?compression=gzip-js``); 1.449.2 strips
  that flag and relies on the server recognising the gzip magic bytes (``1f 8b``), so a
  body that starts with them is gunzipped, flagged or not;
* base64 (``?compression=base64``, what ``sendBeacon`` uses when compression is off): a
  form body ``data=<base64 of the UTF-8 JSON>``;
* plain JSON (``disable_compression: true``).

The canonical ``properties`` are the caller's: :data:`POSTHOG_AUTOMATIC_PROPERTIES` and the
group keys moved into canonical fields are dropped, and for posthog-js events
(``properties.$lib == "web"``) every ``$``-prefixed key, ``token`` and the ``$pageview``'s
``title`` too (:data:`POSTHOG_JS_OWN_KEYS`). In posthog-js events an integer beyond 2**53
is read as the double JavaScript sent (:func:`~conformance.collector.wire.fields.js_numbers`).
"""

from __future__ import annotations

import json
from typing import Any, Final

import attrs

from conformance.collector.wire.common import (
    JSON_REPLY,
    POST,
    POST_OR_GET,
    Decoded,
    Request,
    Route,
    WireError,
    b64decode,
    gunzip,
    json_body,
    loads,
    parse_form,
    parse_json,
    refuse_non_strict,
    show,
    status_slug,
    stub,
)
from conformance.collector.wire.fields import (
    as_list,
    as_object,
    iso_ms,
    js_numbers,
    opt_dict,
    opt_str,
    req_str,
    without,
)
from simulator import Event, Kind

# SEMANTICS.md section 5.4 (PostHog "automatic properties") plus the identity keys that
# section 4.2 knob 26 maps onto canonical fields; dropped from canonical ``properties``.
POSTHOG_AUTOMATIC_PROPERTIES: Final = frozenset(
    {
        "$lib",
        "$lib_version",
        "$python_runtime",
        "$python_version",
        "$os",
        "$os_version",
        "$os_distro",
        "$geoip_disable",
        "$is_server",
        "distinct_id",
        "$device_id",
        "$user_id",
        "$anon_distinct_id",
        "$set",
        "$set_once",
        "$groups",
        "$is_identified",
        "$process_person_profile",
        # posthog-python adds it to every event captured inside a new_context() (the names of
        # the context's tags): SDK metadata like $lib. Inside $set it stays a trait.
        "$context_tags",
    }
)

POSTHOG_JS_LIB: Final = "web"
"""``properties.$lib`` of posthog-js (the browser SDK)."""

POSTHOG_JS_OWN_KEYS: Final = frozenset({"token", "distinct_id"})
"""posthog-js's own keys without a ``$``: ``calculateEventProperties`` (posthog-core.ts) sets
``token`` and the ``distinct_id`` super property on every event, and ``title`` (the document
title) on ``$pageview``; every other property it adds starts with ``$`` (device, page, session,
``$sdk_debug_*``, super properties such as ``$user_id`` and ``$initialization_time``)."""

_POSTHOG_GROUP_KEYS: Final = frozenset({"$group_type", "$group_key", "$group_set"})
_GZIP_MAGIC: Final = b"\x1f\x8b"


def _posthog(req: Request) -> Decoded:
    compression = parse_form(req.query, "query string").get("compression", [""])[-1]
    body = req.body
    if compression == "gzip-js" or body[:2] == _GZIP_MAGIC:
        body = gunzip(body, req.max_bytes)  # posthog-js gzip, flagged in the query or not
    if compression == "base64" or req.content_type == "application/x-www-form-urlencoded":
        doc = _posthog_form(body, req.source, base64=compression == "base64")
    else:
        doc = json_body(attrs.evolve(req, body=body))
    if isinstance(doc, list):
        items = [(f"request body[{i}]", item) for i, item in enumerate(doc)]
    elif isinstance(doc, dict) and "batch" in doc:
        batch = as_list(doc["batch"], "request body.batch")
        items = [(f"batch[{i}]", item) for i, item in enumerate(batch)]
    else:
        items = [("request body", doc)]
    events = tuple(_posthog_event(item, where, req.source) for where, item in items)
    return Decoded(events=events, reply=b'{"status":1}')


def _posthog_form(body: bytes, source: str, *, base64: bool) -> Any:
    """The JSON inside a form body ``data=...``: base64 when flagged (or when not JSON)."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as exc:
        msg = f"{source}: the form body is not UTF-8 ({exc})"
        raise WireError(msg) from None
    form = parse_form(text, "form body")
    values = form.get("data")
    if not values:
        msg = f"{source}: the form body has no data= field; expected data=<base64 JSON>, got {show(form)}"
        raise WireError(msg)
    if not base64:
        try:
            doc = loads(values[0])
        except (ValueError, RecursionError):
            doc = None
        if isinstance(doc, (dict, list)):
            refuse_non_strict(doc, "data")
            return doc
    return parse_json(b64decode(values[0], "data"), "base64-decoded data")


def _caller_properties(props: dict[str, Any], name: str, consumed: set[str],
                       top_distinct: str | None) -> dict[str, Any]:  # fmt: skip
    """``props`` without the SDK's own keys (see the module docstring).

    A ``distinct_id`` property that differs from a top-level ``distinct_id`` is the caller's
    (posthog-python sets only the top-level one), so it stays.
    """
    if props.get("$lib") != POSTHOG_JS_LIB:
        kept = without(props, POSTHOG_AUTOMATIC_PROPERTIES, consumed)
        if top_distinct is not None and "distinct_id" in props and props["distinct_id"] != top_distinct:
            kept["distinct_id"] = props["distinct_id"]
        return kept
    own = POSTHOG_JS_OWN_KEYS | consumed | ({"title"} if name == "$pageview" else set())
    return {k: v for k, v in props.items() if not k.startswith("$") and k not in own}


def _posthog_event(raw: Any, where: str, source: str) -> Event:
    """One PostHog event (SEMANTICS.md 5.4; knob 26).

    Ids: ``distinct_id`` is the top-level ``distinct_id``, else ``properties.distinct_id``;
    ``device_id`` is ``properties.$device_id``. ``user_id`` is ``properties.$user_id``
    when that is present; otherwise the ``distinct_id`` for the identifying events
    ``$identify`` and ``$set`` (identifying *is* naming the user), and ``None`` for every
    other event, since a plain capture does not say whether its distinct id is a user id.
    ``$create_alias`` is the exception: ``user_id`` = ``properties.alias`` and
    ``previous_id`` = ``properties.distinct_id``. ``$identify`` has ``previous_id`` =
    ``properties.$anon_distinct_id``. Traits of ``$identify``/``$set`` are
    ``properties.$set`` updated with the top-level ``$set``. ``$groupidentify`` is GROUP
    with ``name`` = ``$group_type``, ``group_id`` = ``$group_key``, traits ``$group_set``.
    ``$pageview`` is PAGE with no name (the URL stays in ``properties.$current_url``).
    """
    event = as_object(raw, where, "a JSON object (a PostHog event)")
    name = req_str(event, "event", where)
    props_where = f"{where}.properties"
    props = opt_dict(event, "properties", where)
    if props.get("$lib") == POSTHOG_JS_LIB:
        js_numbers(event)
    distinct = opt_str(event, "distinct_id", where)
    if distinct is None:
        distinct = opt_str(props, "distinct_id", props_where)
    explicit_user = opt_str(props, "$user_id", props_where)
    user_id = explicit_user
    previous_id = group_id = event_name = None
    traits: dict[str, Any] = {}
    consumed: set[str] = set()
    if name in {"$identify", "$set"}:
        kind = Kind.IDENTIFY
        user_id = explicit_user if explicit_user is not None else distinct
        traits = {**opt_dict(props, "$set", props_where), **opt_dict(event, "$set", where)}
        if name == "$identify":
            previous_id = opt_str(props, "$anon_distinct_id", props_where)
    elif name == "$create_alias":
        kind = Kind.ALIAS
        user_id = opt_str(props, "alias", props_where)
        previous_id = opt_str(props, "distinct_id", props_where)
        consumed = {"alias"}
    elif name == "$groupidentify":
        kind = Kind.GROUP
        event_name = opt_str(props, "$group_type", props_where)
        group_id = opt_str(props, "$group_key", props_where)
        traits = opt_dict(props, "$group_set", props_where)
        consumed = set(_POSTHOG_GROUP_KEYS)
    elif name == "$pageview":
        kind = Kind.PAGE
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
        group_id=group_id,
        properties=_caller_properties(props, name, consumed, opt_str(event, "distinct_id", where)),
        traits=traits,
        message_id=opt_str(event, "uuid", where),
        timestamp=iso_ms(event.get("timestamp"), f"{where}.timestamp"),
        source=source,
    )


ROUTES: Final = (
    *(Route(POST, path, _posthog) for path in ("/batch/", "/e/", "/capture/", "/i/v0/e/")),
    # Stubs: posthog-js asks for feature flags and its remote config when it loads (POST
    # /decide/?v=..., newer releases POST /flags/?v=..., GET /array/<token>/config); these
    # answer "no flags, no session recording" so that it goes on to capture events.
    stub(
        "/decide/",
        {
            "errorsWhileComputingFlags": False,
            "featureFlagPayloads": {},
            "featureFlags": {},
            "sessionRecording": False,
        },
        POST_OR_GET,
    ),
    stub("/flags/", {"errorsWhileComputingFlags": False, "flags": {}}, POST_OR_GET),
    stub("/array/{token}/config", {}),
)
"""PostHog's endpoints, relative to the ``/posthog`` mount."""


def posthog_error(status: int, reason: str) -> tuple[str, str]:
    """PostHog's API error shape (Django REST framework's): ``type``, ``code``, ``detail``, ``attr``.

    posthog-python raises ``APIError`` with the reply's ``detail`` (its text when absent).
    """
    kind = "server_error" if status >= 500 else "throttled" if status == 429 else "validation_error"
    body = {"type": kind, "code": status_slug(status), "detail": reason, "attr": None}
    return json.dumps(body), JSON_REPLY
