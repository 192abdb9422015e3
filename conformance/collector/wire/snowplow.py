"""Snowplow's wire format (SEMANTICS.md 5.7): POST ``/com.snowplowanalytics.snowplow/tp2`` and GET ``/i``.

POST bodies are a ``payload_data`` envelope whose ``data`` lists tracker payloads; GET
carries one payload in the query and is answered with a 1x1 GIF. Every payload value is a
string. Snowplow's trackers need no configuration endpoint, so there are no stub routes.
"""

from __future__ import annotations

import base64
import math
import re
from typing import Any, Final

from conformance.collector.wire.common import (
    GET,
    POST,
    TEXT_REPLY,
    Decoded,
    Request,
    Route,
    WireError,
    b64decode,
    json_body,
    parse_form,
    parse_json,
    show,
)
from conformance.collector.wire.fields import (
    as_list,
    as_object,
    opt_dict,
    opt_str,
    req_str,
)
from simulator import Event, Kind

# The classic transparent 1x1 GIF that pixel collectors answer GET requests with.
_PIXEL: Final = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")

_SNOWPLOW_STRUCT: Final = (
    ("category", "se_ca"),
    ("label", "se_la"),
    ("property", "se_pr"),
    ("value", "se_va"),
)
_DIGITS: Final = re.compile(r"-?[0-9]{1,18}", re.ASCII)


def _snowplow_post(req: Request) -> Decoded:
    doc = as_object(json_body(req), "request body", "a payload_data envelope object")
    data = as_list(doc.get("data"), "request body.data")
    events = tuple(_snowplow_event(item, f"data[{i}]", req.source) for i, item in enumerate(data))
    return Decoded(events=events, reply=b"ok", content_type=TEXT_REPLY)


def _snowplow_get(req: Request) -> Decoded:
    fields = {key: values[0] for key, values in parse_form(req.query, "query string").items()}
    event = _snowplow_event(fields, "query", req.source)
    return Decoded(events=(event,), reply=_PIXEL, content_type="image/gif")


def _snowplow_event(raw: Any, where: str, source: str) -> Event:
    """One Snowplow tracker payload (SEMANTICS.md 5.7); every value is a string.

    ``uid`` → ``user_id``, ``duid`` → ``anonymous_id``, ``tnuid`` (the network user id)
    → ``device_id``, ``eid`` → ``message_id``, ``ttm`` (the caller's true timestamp) or
    else ``dtm`` (the device's) → ``timestamp``. ``se`` is TRACK
    named ``se_ac`` with properties category/label/property/value (``value`` as a float);
    ``ue`` is TRACK named by the inner schema's name segment, with the inner ``data`` as properties;
    ``pv`` is PAGE named by ``url``; any other ``e`` is TRACK named by ``e``.
    """
    fields = as_object(raw, where, "a JSON object of tracker fields")
    event_type = req_str(fields, "e", where)
    properties: dict[str, Any] = {}
    kind = Kind.TRACK
    name: str | None = event_type
    if event_type == "se":
        name = opt_str(fields, "se_ac", where)
        for label, key in _SNOWPLOW_STRUCT:
            value = opt_str(fields, key, where)
            if value is not None:
                properties[label] = _float(value, f"{where}.{key}") if key == "se_va" else value
    elif event_type == "ue":
        name, properties = _snowplow_self_describing(fields, where)
    elif event_type == "pv":
        kind, name = Kind.PAGE, opt_str(fields, "url", where)
    times = {}
    for key in ("ttm", "dtm"):
        value = times[key] = opt_str(fields, key, where)
        if value is not None and not _DIGITS.fullmatch(value):
            msg = f"{where}.{key} must be epoch milliseconds as a string of digits, got {show(value)}"
            raise WireError(msg)
    moment = times["ttm"] if times["ttm"] is not None else times["dtm"]
    return Event(
        kind=kind,
        name=name,
        user_id=opt_str(fields, "uid", where),
        anonymous_id=opt_str(fields, "duid", where),
        device_id=opt_str(fields, "tnuid", where),
        properties=properties,
        message_id=opt_str(fields, "eid", where),
        timestamp=None if moment is None else int(moment),
        source=source,
    )


def _float(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        msg = f"{where} must be a finite number in a string, got {show(text)}"
        raise WireError(msg)
    return value


def _snowplow_self_describing(fields: dict[str, Any], where: str) -> tuple[str, dict[str, Any]]:
    encoded = opt_str(fields, "ue_px", where)
    if encoded is not None:
        outer = parse_json(b64decode(encoded, f"{where}.ue_px"), f"base64-decoded {where}.ue_px")
    else:
        plain = opt_str(fields, "ue_pr", where)
        if plain is None:
            msg = f"{where} is a self-describing event (e=ue) without ue_px or ue_pr"
            raise WireError(msg)
        outer = parse_json(plain, f"{where}.ue_pr")
    inner_where = f"{where}.ue.data"
    inner = as_object(as_object(outer, f"{where}.ue").get("data"), inner_where)
    schema = req_str(inner, "schema", inner_where)
    return _schema_name(schema), opt_dict(inner, "data", inner_where)


def _schema_name(schema: str) -> str:
    """``iglu:vendor/name/jsonschema/1-0-0`` names the event ``name`` (Snowplow's own reading)."""
    body = schema.removeprefix("iglu:")
    parts = body.split("/")
    if len(parts) >= 4 and parts[-2] == "jsonschema":
        return "/".join(parts[1:-2])
    return schema


ROUTES: Final = (
    Route(POST, "/com.snowplowanalytics.snowplow/tp2", _snowplow_post),
    Route(GET, "/i", _snowplow_get),
)
"""Snowplow's endpoints, relative to the ``/snowplow`` mount."""
