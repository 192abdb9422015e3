"""Tests for conformance.collector.wire."""

from __future__ import annotations

import base64
import gzip
import json
import urllib.parse
import zlib
from collections.abc import Mapping
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.collector.wire import (
    COLLECTOR_PATHS,
    MAX_BODY_BYTES,
    Decoded,
    WireError,
    decode_request,
    redact_secrets,
)
from simulator import Event, Kind

JAN_1 = 1735689600000  # 2025-01-01T00:00:00Z in epoch ms
JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
GZIP_JSON = {"Content-Type": "application/json", "Content-Encoding": "gzip"}


def post(
    path: str, payload: Any, headers: dict[str, str] | None = None, query: str = ""
) -> Decoded:
    """POST a JSON payload (gzipped when the headers say so) and decode it."""
    headers = JSON if headers is None else headers
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    if headers.get("Content-Encoding") == "gzip":
        body = gzip.compress(body)
    return decode_request("POST", path, headers, body, query)


def mixpanel_form(data: Any, *, b64: bool = False) -> bytes:
    """Form-encode ``data=<JSON>`` the way mixpanel-python (or, base64, mixpanel-browser) does."""
    text = json.dumps(data)
    if b64:
        text = base64.b64encode(text.encode()).decode()
    return urllib.parse.urlencode({"data": text, "verbose": "1", "ip": "0"}).encode()


def ue_px(schema: str, data: dict[str, Any], *, strip_padding: bool = True) -> str:
    """Encode a self-describing event as the Snowplow tracker's urlsafe base64 ``ue_px``."""
    envelope = {
        "schema": "iglu:com.snowplowanalytics.snowplow/unstruct_event/jsonschema/1-0-0",
        "data": {"schema": schema, "data": data},
    }
    text = base64.urlsafe_b64encode(json.dumps(envelope).encode()).decode()
    return text.rstrip("=") if strip_padding else text


# --- Segment and RudderStack ---------------------------------------------------------

SEGMENT_BATCH = {
    "batch": [
        {
            "type": "track",
            "event": "Signed Up",
            "userId": "u1",
            "anonymousId": "a1",
            "properties": {"plan": "pro"},
            "integrations": {},
            "context": {"library": {"name": "analytics-python", "version": "2.4.0"}},
            "timestamp": "2025-01-01T00:00:00.000+00:00",
            "messageId": "9f1c2d3e-0000-4000-8000-000000000001",
        }
    ],
    "sentAt": "2025-01-01T00:00:00.000001+00:00",
    "writeKey": "WK",
}

RUDDER_BATCH = {
    "batch": [
        {
            "type": "identify",
            "userId": "u1",
            "anonymousId": "a1",
            "channel": "server",
            "integrations": {"All": True},
            "context": {
                "traits": {"email": "x@y"},
                "library": {"name": "analytics-python", "version": "2.1.9"},
            },
            "timestamp": "2025-01-01T00:00:00.000001+00:00",
            "messageId": "m-rudder-1",
        },
        {
            "type": "track",
            "event": "Viewed",
            "userId": "",
            "anonymousId": "a1",
            "context": {"traits": {"email": "x@y"}},
            "properties": {},
            "timestamp": "2025-01-01T00:00:01.500001+00:00",
            "messageId": "m-rudder-2",
        },
    ],
    "sentAt": "2025-01-01T00:00:00.000002+00:00",
}


def test_segment_python_batch_decodes_to_the_exact_track_event() -> None:
    """The segment-analytics-python example batch decodes to one canonical TRACK event."""
    decoded = post("/v1/batch", SEGMENT_BATCH)
    assert decoded == Decoded(
        events=(
            Event(
                kind=Kind.TRACK,
                name="Signed Up",
                user_id="u1",
                anonymous_id="a1",
                properties={"plan": "pro"},
                context=SEGMENT_BATCH["batch"][0]["context"],
                message_id="9f1c2d3e-0000-4000-8000-000000000001",
                timestamp=JAN_1,
            ),
        ),
        reply=b'{"success":true}',
    )
    assert decoded.events[0].source == "/v1/batch"


def test_rudderstack_gzip_batch_takes_context_traits_and_empty_user_id_is_none() -> None:
    """RudderStack's gzip batch takes identify traits from context and reads userId "" as None."""
    decoded = post("/v1/batch", RUDDER_BATCH, GZIP_JSON)
    assert decoded.events == (
        Event(
            kind=Kind.IDENTIFY,
            user_id="u1",
            anonymous_id="a1",
            traits={"email": "x@y"},
            context=RUDDER_BATCH["batch"][0]["context"],
            message_id="m-rudder-1",
            timestamp=JAN_1,
        ),
        Event(
            kind=Kind.TRACK,
            name="Viewed",
            anonymous_id="a1",
            context=RUDDER_BATCH["batch"][1]["context"],
            message_id="m-rudder-2",
            timestamp=JAN_1 + 1500,
        ),
    )


@pytest.mark.parametrize(
    ("path", "message", "expected"),
    [
        (
            "/v1/t",
            {
                "event": "Clicked",
                "anonymousId": "a1",
                "properties": {"x": 1},
                "timestamp": "2025-01-01T00:00:00.250Z",
                "messageId": "ajs-1",
            },
            Event(
                kind=Kind.TRACK,
                name="Clicked",
                anonymous_id="a1",
                properties={"x": 1},
                message_id="ajs-1",
                timestamp=JAN_1 + 250,
            ),
        ),
        (
            "/v1/i",
            {"type": "identify", "userId": "u1", "anonymousId": "a1", "traits": {"name": "N"}},
            Event(kind=Kind.IDENTIFY, user_id="u1", anonymous_id="a1", traits={"name": "N"}),
        ),
        (
            "/v1/a",
            {"type": "alias", "userId": "u2", "previousId": "u1"},
            Event(kind=Kind.ALIAS, user_id="u2", previous_id="u1"),
        ),
        (
            "/v1/g",
            {
                "type": "group",
                "userId": "u1",
                "groupId": "g1",
                "traits": {"plan": "team"},
                "context": {"traits": {"email": "x@y"}},
            },
            Event(kind=Kind.GROUP, user_id="u1", group_id="g1", traits={"plan": "team"},
                  context={"traits": {"email": "x@y"}}),
        ),
        (
            "/v1/p",
            {
                "type": "page",
                "anonymousId": "a1",
                "name": "Home",
                "properties": {"path": "/"},
                "originalTimestamp": "2025-01-01T01:00:00+01:00",
            },
            Event(
                kind=Kind.PAGE,
                name="Home",
                anonymous_id="a1",
                properties={"path": "/"},
                timestamp=JAN_1,
            ),
        ),
        (
            "/v1/screen",
            {"userId": "u1", "name": "Settings"},
            Event(kind=Kind.SCREEN, name="Settings", user_id="u1"),
        ),
    ],
)
def test_segment_single_call_paths_decode_one_message(
    path: str, message: dict[str, Any], expected: Event
) -> None:
    """Each single-call and browser short path decodes its one message, typed by body or path."""
    decoded = post(path, message, {"Content-Type": "text/plain"})
    assert decoded.events == (expected,)
    assert decoded.events[0].source == path


# --- PostHog -------------------------------------------------------------------------

POSTHOG_BATCH = {
    "batch": [
        {
            "event": "Signed Up",
            "distinct_id": "u1",
            "uuid": "0190c0de-0000-7000-8000-000000000001",
            "timestamp": "2025-01-01T00:00:00+00:00",
            "properties": {
                "plan": "pro",
                "$lib": "posthog-python",
                "$lib_version": "7.91.1",
                "$is_server": True,
                "$geoip_disable": True,
                "$python_runtime": "CPython",
                "$python_version": "3.11.9",
                "$os": "Linux",
                "$os_version": "6.1",
                "$os_distro": {"name": "debian"},
            },
        }
    ],
    "historical_migration": False,
    "sent_at": "2025-01-01T00:00:00+00:00",
    "api_key": "phc_KEY",
}


@pytest.mark.parametrize("headers", [JSON, GZIP_JSON], ids=["plain", "gzip"])
def test_posthog_python_batch_keeps_only_caller_properties(headers: dict[str, str]) -> None:
    """posthog-python's batch decodes to TRACK with every automatic property dropped."""
    decoded = post("/batch/", POSTHOG_BATCH, headers)
    assert decoded == Decoded(
        events=(
            Event(
                kind=Kind.TRACK,
                name="Signed Up",
                distinct_id="u1",
                properties={"plan": "pro"},
                message_id="0190c0de-0000-7000-8000-000000000001",
                timestamp=JAN_1,
            ),
        ),
        reply=b'{"status":1}',
    )


def test_posthog_browser_identify_maps_ids_and_merges_set() -> None:
    """A posthog-js $identify is IDENTIFY: user = distinct id, previous = anon id, $set merged."""
    event = {
        "event": "$identify",
        "$set": {"email": "x@y"},
        "properties": {
            "distinct_id": "u1",
            "$device_id": "dev-1",
            "$anon_distinct_id": "anon-1",
            "$set": {"email": "old@y", "name": "N"},
            "$set_once": {"first": "1"},
            "$is_identified": True,
            "$current_url": "http://localhost/",
            "token": "phc_KEY",
        },
        "timestamp": "2025-01-01T00:00:00.123Z",
        "uuid": "u-1",
    }
    decoded = post("/e/", event, {"Content-Type": "text/plain"})
    assert decoded.events == (
        Event(
            kind=Kind.IDENTIFY,
            user_id="u1",
            device_id="dev-1",
            distinct_id="u1",
            previous_id="anon-1",
            properties={"$current_url": "http://localhost/", "token": "phc_KEY"},
            traits={"email": "x@y", "name": "N"},
            message_id="u-1",
            timestamp=JAN_1 + 123,
        ),
    )


def test_posthog_python_keeps_a_distinct_id_property_that_is_not_the_events_own() -> None:
    """posthog-python sets only the top-level distinct_id: a different ``distinct_id`` property is caller data.

    One equal to the top-level id is the SDK's copy and is dropped, as before.
    """
    batch = [
        {"event": "E", "distinct_id": "u1", "properties": {"distinct_id": "intruder", "$lib": "posthog-python"}},
        {"event": "E", "distinct_id": "u1", "properties": {"distinct_id": "u1", "$lib": "posthog-python"}},
    ]
    decoded = post("/batch/", {"api_key": "K", "batch": batch})
    assert [e.properties for e in decoded.events] == [{"distinct_id": "intruder"}, {}]
    assert [e.distinct_id for e in decoded.events] == ["u1", "u1"]


def test_posthog_special_events_map_to_alias_set_group_and_page() -> None:
    """$create_alias, $set, $groupidentify and $pageview map to ALIAS, IDENTIFY, GROUP and PAGE."""
    batch = [
        {
            "event": "$create_alias",
            "distinct_id": "anon-1",
            "properties": {"distinct_id": "anon-1", "alias": "u1", "$lib": "posthog-python"},
        },
        {"event": "$set", "distinct_id": "u1", "$set": {"plan": "pro"}, "properties": {}},
        {
            "event": "$groupidentify",
            "distinct_id": "u1",
            "properties": {
                "$group_type": "company",
                "$group_key": "acme",
                "$group_set": {"seats": 5},
            },
        },
        {
            "event": "$pageview",
            "properties": {"distinct_id": "anon-1", "$user_id": "u9", "$current_url": "http://x/"},
        },
    ]
    decoded = post("/i/v0/e/", batch)
    assert decoded.events == (
        Event(kind=Kind.ALIAS, user_id="u1", distinct_id="anon-1", previous_id="anon-1"),
        Event(kind=Kind.IDENTIFY, user_id="u1", distinct_id="u1", traits={"plan": "pro"}),
        Event(
            kind=Kind.GROUP, name="company", distinct_id="u1", group_id="acme", traits={"seats": 5}
        ),
        Event(
            kind=Kind.PAGE,
            user_id="u9",
            distinct_id="anon-1",
            properties={"$current_url": "http://x/"},
        ),
    )


def test_posthog_plain_capture_has_no_user_id() -> None:
    """A plain capture without $user_id leaves user_id None: a distinct id proves no user."""
    decoded = post("/capture/", {"api_key": "k", "event": "e", "distinct_id": "d"})
    assert decoded.events == (Event(kind=Kind.TRACK, name="e", distinct_id="d"),)


def test_posthog_js_gzip_compression_flag_in_query_is_honoured() -> None:
    """posthog-js ``?compression=gzip-js`` bodies are gunzipped even without Content-Encoding."""
    body = gzip.compress(json.dumps({"event": "e", "distinct_id": "d"}).encode())
    decoded = decode_request(
        "POST", "/e/", {"Content-Type": "text/plain"}, body, "compression=gzip-js&ver=1.0"
    )
    assert decoded.events == (Event(kind=Kind.TRACK, name="e", distinct_id="d"),)


# --- Amplitude -----------------------------------------------------------------------

AMPLITUDE_BODY = {
    "api_key": "API_KEY",
    "events": [
        {
            "event_type": "Signed Up",
            "user_id": "u1",
            "device_id": "d1",
            "event_properties": {"plan": "pro"},
            "insert_id": "ins-1",
            "library": "amplitude-python/1.3.0",
            "time": 1735689600000,
        },
        {
            "event_type": "$identify",
            "user_id": "u1",
            "user_properties": {"$set": {"email": "x@y"}},
            "insert_id": "ins-2",
            "library": "amplitude-python/1.3.0",
            "time": 1735689600001,
        },
    ],
}


def test_amplitude_httpapi_decodes_track_and_identify_and_replies_with_code() -> None:
    """The amplitude-analytics example decodes to TRACK and IDENTIFY, answered with code 200."""
    raw = json.dumps(AMPLITUDE_BODY, sort_keys=True).encode()
    decoded = decode_request(
        "POST", "/2/httpapi", {"content-type": "application/json; charset=UTF-8"}, raw
    )
    assert decoded.events == (
        Event(
            kind=Kind.TRACK,
            name="Signed Up",
            user_id="u1",
            device_id="d1",
            properties={"plan": "pro"},
            message_id="ins-1",
            timestamp=JAN_1,
        ),
        Event(
            kind=Kind.IDENTIFY,
            user_id="u1",
            traits={"email": "x@y"},
            message_id="ins-2",
            timestamp=JAN_1 + 1,
        ),
    )
    assert json.loads(decoded.reply) == {
        "code": 200,
        "events_ingested": 2,
        "payload_size_bytes": len(raw),
        "server_upload_time": 0,
    }


def test_amplitude_batch_groupidentify_is_group() -> None:
    """An Amplitude $groupidentify on /batch is GROUP named by group type with $set traits."""
    body = {
        "api_key": "k",
        "events": [
            {
                "event_type": "$groupidentify",
                "device_id": "d1",
                "groups": {"company": "acme"},
                "group_properties": {"$set": {"seats": 5}},
            }
        ],
    }
    decoded = post("/batch", body, GZIP_JSON)
    assert decoded.events == (
        Event(
            kind=Kind.GROUP, name="company", device_id="d1", group_id="acme", traits={"seats": 5}
        ),
    )


# --- Mixpanel ------------------------------------------------------------------------

MIXPANEL_EVENT = {
    "event": "Signed Up",
    "properties": {
        "token": "TOKEN",
        "distinct_id": "u1",
        "time": 1735689600.123,
        "$insert_id": "0123456789abcdef0123456789abcdef",
        "mp_lib": "python",
        "$lib_version": "5.4.1",
        "plan": "pro",
    },
}
MIXPANEL_TRACKED = Event(
    kind=Kind.TRACK,
    name="Signed Up",
    distinct_id="u1",
    properties={"plan": "pro"},
    message_id="0123456789abcdef0123456789abcdef",
    timestamp=JAN_1 + 123,
)


@pytest.mark.parametrize("b64", [False, True], ids=["python-json", "browser-base64"])
def test_mixpanel_form_data_decodes_json_or_base64(b64: bool) -> None:
    """Mixpanel ``data=`` decodes whether it holds JSON (Python) or base64 JSON (browser)."""
    path = "/track/" if b64 else "/track"
    decoded = post(path, mixpanel_form(MIXPANEL_EVENT, b64=b64), FORM)
    assert decoded == Decoded(events=(MIXPANEL_TRACKED,), reply=b'{"status":1}')


@pytest.mark.parametrize("time_value", ["2024-01-01T00:00:00.000Z", None, True])
def test_mixpanel_time_that_is_not_a_number_is_no_timestamp_and_no_refusal(time_value: Any) -> None:
    """A ``time`` that is not a number (caller data merged over the SDK's) decodes with no timestamp.

    The collector does not refuse it (what Mixpanel's API does with it is unknown), and the
    ``time`` key stays out of the caller's properties like the SDK's own.
    """
    event = {"event": "Signed Up", "properties": {**MIXPANEL_EVENT["properties"], "time": time_value}}
    decoded = post("/track", mixpanel_form(event, b64=False), FORM)
    assert decoded.events == (attrs.evolve(MIXPANEL_TRACKED, timestamp=None),)


def test_mixpanel_get_reads_data_from_the_query() -> None:
    """A mixpanel-browser GET carries base64 ``data`` in the query string."""
    query = mixpanel_form([MIXPANEL_EVENT], b64=True).decode() + "&_=1735689600000"
    decoded = decode_request("GET", "/track/", {}, b"", query)
    assert decoded.events == (MIXPANEL_TRACKED,)


def test_mixpanel_identity_events_map_to_identify_alias_and_merge() -> None:
    """$identify, $create_alias and $merge map to IDENTIFY, ALIAS and MERGE with their ids."""
    events = [
        {
            "event": "$identify",
            "properties": {
                "distinct_id": "u1",
                "$anon_distinct_id": "a1",
                "$device_id": "dev",
                "token": "T",
            },
        },
        {
            "event": "$create_alias",
            "properties": {"distinct_id": "a1", "alias": "u1", "token": "T"},
        },
        {"event": "$merge", "properties": {"$distinct_ids": ["u1", "a1"], "token": "T"}},
    ]
    decoded = post("/import", events)
    assert decoded.events == (
        Event(
            kind=Kind.IDENTIFY, user_id="u1", device_id="dev", distinct_id="u1", previous_id="a1"
        ),
        Event(kind=Kind.ALIAS, user_id="u1", distinct_id="a1", previous_id="a1"),
        Event(kind=Kind.MERGE, distinct_id="u1", previous_id="a1"),
    )


def test_mixpanel_engage_and_groups_records() -> None:
    """People records are IDENTIFY with $set traits; group records are GROUP."""
    people = {
        "$token": "T",
        "$distinct_id": "u1",
        "$time": 1735689600000,
        "$set": {"email": "x@y"},
        "$set_once": {"first": 1},
    }
    group = {"$token": "T", "$group_key": "company", "$group_id": "acme", "$set": {"seats": 5}}
    assert post("/engage", mixpanel_form(people), FORM).events == (
        Event(
            kind=Kind.IDENTIFY,
            user_id="u1",
            distinct_id="u1",
            traits={"email": "x@y"},
            timestamp=JAN_1,
        ),
    )
    assert post("/groups/", mixpanel_form(group, b64=True), FORM).events == (
        Event(kind=Kind.GROUP, name="company", group_id="acme", traits={"seats": 5}),
    )


# --- Snowplow ------------------------------------------------------------------------

SNOWPLOW_SE = {
    "schema": "iglu:com.snowplowanalytics.snowplow/payload_data/jsonschema/1-0-4",
    "data": [
        {
            "e": "se",
            "se_ca": "cat",
            "se_ac": "Signed Up",
            "uid": "u1",
            "duid": "d1",
            "eid": "eid-1",
            "dtm": "1735689600000",
            "stm": "1735689600000",
            "tv": "py-1.1.0",
            "tna": "ns",
            "aid": "app",
            "p": "pc",
        },
        {
            "e": "se",
            "se_ca": "cat",
            "se_ac": "Rated",
            "se_la": "l",
            "se_pr": "p",
            "se_va": "4.5",
            "duid": "d1",
            "tnuid": "net-1",
        },
    ],
}


def test_snowplow_true_timestamp_is_the_events_timestamp_over_the_device_time() -> None:
    """``ttm`` (the caller's true timestamp) is the event's time; ``dtm`` is only the fallback."""
    caller_time = JAN_1 - 86_400_000
    fields = {**SNOWPLOW_SE["data"][0], "ttm": str(caller_time)}  # type: ignore[dict-item]
    decoded = post("/com.snowplowanalytics.snowplow/tp2", {**SNOWPLOW_SE, "data": [fields]}, JSON)
    assert decoded.events[0].timestamp == caller_time


def test_snowplow_true_timestamp_that_is_not_digits_is_refused_naming_it() -> None:
    """A ``ttm`` that is not epoch milliseconds is a 400 naming the field and the value."""
    fields = {**SNOWPLOW_SE["data"][0], "ttm": "yesterday"}  # type: ignore[dict-item]
    with pytest.raises(WireError, match=r"ttm must be epoch milliseconds.*'yesterday'"):
        post("/com.snowplowanalytics.snowplow/tp2", {**SNOWPLOW_SE, "data": [fields]}, JSON)


@pytest.mark.parametrize("headers", [JSON, GZIP_JSON], ids=["plain", "gzip"])
def test_snowplow_post_structured_events(headers: dict[str, str]) -> None:
    """Snowplow tp2 structured events decode to TRACK named se_ac with category/label/value."""
    decoded = post("/com.snowplowanalytics.snowplow/tp2", SNOWPLOW_SE, headers)
    assert decoded == Decoded(
        events=(
            Event(
                kind=Kind.TRACK,
                name="Signed Up",
                user_id="u1",
                anonymous_id="d1",
                properties={"category": "cat"},
                message_id="eid-1",
                timestamp=JAN_1,
            ),
            Event(
                kind=Kind.TRACK,
                name="Rated",
                anonymous_id="d1",
                device_id="net-1",
                properties={"category": "cat", "label": "l", "property": "p", "value": 4.5},
            ),
        ),
        reply=b"ok",
        content_type="text/plain; charset=utf-8",
    )


def test_snowplow_get_self_describing_with_unpadded_ue_px() -> None:
    """GET /i with an unpadded urlsafe-base64 ue_px is TRACK named by the schema's name."""
    schema = "iglu:com.acme/signed_up/jsonschema/1-0-0"
    px = ue_px(schema, {"plan": "pro?>"})
    assert not px.endswith("=")
    query = urllib.parse.urlencode({"e": "ue", "ue_px": px, "uid": "u1", "dtm": "1735689600000"})
    decoded = decode_request("GET", "/i", {}, b"", query)
    assert decoded.events == (
        Event(
            kind=Kind.TRACK,
            name="signed_up",
            user_id="u1",
            properties={"plan": "pro?>"},
            timestamp=JAN_1,
        ),
    )
    assert decoded.content_type == "image/gif"
    assert decoded.reply.startswith(b"GIF89a")


def test_snowplow_ue_pr_and_page_view() -> None:
    """Plain-JSON ue_pr is decoded like ue_px, and a pv event is PAGE named by its url."""
    envelope = {"schema": "s", "data": {"schema": "iglu:x/y/jsonschema/1-0-0", "data": {"k": 1}}}
    body = {
        "schema": "p",
        "data": [
            {"e": "ue", "ue_pr": json.dumps(envelope), "duid": "d1"},
            {"e": "pv", "url": "http://x/home", "duid": "d1"},
        ],
    }
    decoded = post("/com.snowplowanalytics.snowplow/tp2", body)
    assert decoded.events == (
        Event(
            kind=Kind.TRACK,
            name="y",
            anonymous_id="d1",
            properties={"k": 1},
        ),
        Event(kind=Kind.PAGE, name="http://x/home", anonymous_id="d1"),
    )


def test_options_preflight_is_an_empty_204() -> None:
    """A CORS preflight to a known path decodes to no events and a 204."""
    decoded = decode_request("OPTIONS", "/v1/t", {}, b"")
    assert (decoded.events, decoded.status) == ((), 204)


# --- malformed input -----------------------------------------------------------------


def _bomb(size: int) -> bytes:
    """Gzip ``size`` zero bytes without holding them in memory."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    chunk = bytes(1 << 20)
    parts = [packer.compress(chunk) for _ in range(size >> 20)]
    return b"".join([*parts, packer.flush()])


BOMB = _bomb(50 << 20)
SEG = "/v1/batch"
TP2 = "/com.snowplowanalytics.snowplow/tp2"


@pytest.mark.parametrize(
    ("method", "path", "headers", "body", "query", "status", "fragment"),
    [
        ("POST", SEG, JSON, b'{"batch": [', "", 400, "not valid JSON"),
        ("POST", SEG, GZIP_JSON, b"definitely not gzip", "", 400, "not gzip data"),
        ("POST", SEG, GZIP_JSON, gzip.compress(b'{"batch":[]}', mtime=0)[:-12], "", 400, "truncated"),
        ("POST", SEG, GZIP_JSON, BOMB, "", 413, "inflates to more than"),
        ("POST", SEG, JSON, b" " * (MAX_BODY_BYTES + 1), "", 413, "at most"),
        ("POST", SEG, {"Content-Type": "text/html"}, b"<html>", "", 415, "text/html"),
        ("POST", SEG, {"Content-Encoding": "br"}, b"{}", "", 415, "'br'"),
        ("POST", SEG, JSON, b'{"batch": {"type": "track"}}', "", 400, "must be a JSON array"),
        ("POST", SEG, JSON, b'{"batch": ["x"]}', "", 400, "batch[0] must be a JSON object"),
        (
            "POST",
            SEG,
            JSON,
            b'{"batch": [{"type": "track", "userId": 42}]}',
            "",
            400,
            "batch[0].userId must be a string or null, got 42 of type int",
        ),
        ("POST", SEG, JSON, b'{"batch": [{"type": "shout"}]}', "", 400, "'shout'"),
        (
            "POST",
            SEG,
            JSON,
            b'{"batch": [{"type": "track", "timestamp": "yesterday"}]}',
            "",
            400,
            "ISO-8601",
        ),
        ("POST", "/v1/t", JSON, b'{"properties": [1]}', "", 400, "properties must be a JSON"),
        ("POST", "/nope", JSON, b"{}", "", 404, "'/nope'"),
        ("GET", SEG, {}, b"", "", 405, "'GET'"),
        ("POST", "/batch/", JSON, b'{"batch": [{"event": 7}]}', "", 400, "event must be a string"),
        (
            "POST",
            "/batch/",
            JSON,
            b'{"batch": [{"event": "e", "distinct_id": 5}]}',
            "",
            400,
            "distinct_id",
        ),
        (
            "POST",
            "/2/httpapi",
            JSON,
            b'{"events": [{"event_type": "e", "time": "now"}]}',
            "",
            400,
            "time must be a number",
        ),
        ("POST", "/2/httpapi", JSON, b"[]", "", 400, "request body must be a JSON object"),
        ("POST", "/track", FORM, b"data=%%%not-base64%%%", "", 400, "not valid base64"),
        ("POST", "/track", FORM, b"verbose=1", "", 400, "no data= field"),
        ("POST", "/track", {"Content-Type": "image/png"}, b"\x89PNG", "", 415, "image/png"),
        (
            "POST",
            "/import",
            JSON,
            b'[{"event": "$merge", "properties": {"$distinct_ids": ["a"]}}]',
            "",
            400,
            "$distinct_ids",
        ),
        ("POST", TP2, JSON, b'{"data": [{"e": "se", "se_va": "lots"}]}', "", 400, "se_va"),
        ("POST", TP2, JSON, b'{"data": [{"e": "se", "dtm": "soon"}]}', "", 400, "dtm"),
        ("POST", TP2, JSON, b'{"data": [{"e": "se", "uid": 1}]}', "", 400, "uid"),
        ("GET", "/i", {}, b"", "e=ue&ue_px=!!!", 400, "ue_px"),
        ("GET", "/i", {}, b"", "e=ue", 400, "without ue_px or ue_pr"),
    ],
)
def test_malformed_requests_raise_wire_error_with_status_and_reason(
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    query: str,
    status: int,
    fragment: str,
) -> None:
    """Each malformed request raises WireError with its status and a reason naming the value."""
    with pytest.raises(WireError) as info:
        decode_request(method, path, headers, body, query)
    assert info.value.status == status
    assert fragment in str(info.value)
    assert isinstance(info.value, ValueError)


def test_gzip_bomb_is_small_on_the_wire() -> None:
    """The bomb used above really is tiny compressed and huge inflated."""
    assert len(BOMB) < 100_000


# --- robustness ----------------------------------------------------------------------

FIELD_NAMES = sorted(
    {
        "batch",
        "type",
        "userId",
        "anonymousId",
        "previousId",
        "groupId",
        "event",
        "name",
        "properties",
        "traits",
        "context",
        "messageId",
        "timestamp",
        "originalTimestamp",
        "distinct_id",
        "uuid",
        "$set",
        "$device_id",
        "$user_id",
        "$anon_distinct_id",
        "alias",
        "$group_type",
        "$group_key",
        "$group_set",
        "events",
        "event_type",
        "user_id",
        "device_id",
        "insert_id",
        "time",
        "event_properties",
        "user_properties",
        "groups",
        "group_properties",
        "$distinct_ids",
        "$distinct_id",
        "$time",
        "$group_id",
        "$insert_id",
        "data",
        "schema",
        "e",
        "uid",
        "duid",
        "tnuid",
        "eid",
        "dtm",
        "se_ac",
        "se_ca",
        "se_va",
        "ue_px",
        "ue_pr",
        "url",
    }
)
EVENT_NAMES = [
    "track",
    "identify",
    "alias",
    "group",
    "page",
    "screen",
    "$identify",
    "$set",
    "$create_alias",
    "$groupidentify",
    "$pageview",
    "$merge",
    "se",
    "ue",
    "pv",
]
LEAVES = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False)
    | st.sampled_from(EVENT_NAMES)
    | st.text(max_size=8)
    | st.sampled_from(["2025-01-01T00:00:00Z", "1735689600000", "", "2025-13-01T00:00:00"])
)
JSONISH = st.recursive(
    LEAVES,
    lambda inner: (
        st.lists(inner, max_size=4)
        | st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=4), inner, max_size=6)
    ),
    max_leaves=30,
)
BODIES = st.one_of(
    st.binary(max_size=200),
    JSONISH.map(lambda doc: json.dumps(doc).encode()),
    JSONISH.map(lambda doc: mixpanel_form(doc, b64=True)),
)
ID_FIELDS = (
    "user_id",
    "anonymous_id",
    "device_id",
    "distinct_id",
    "previous_id",
    "group_id",
    "message_id",
    "name",
)


@settings(max_examples=300)
@given(
    path=st.sampled_from(sorted(COLLECTOR_PATHS)),
    method=st.sampled_from(["POST", "GET", "OPTIONS"]),
    body=BODIES,
    gzipped=st.booleans(),
    content_type=st.sampled_from(["application/json", "text/plain", FORM["Content-Type"], ""]),
    query=st.sampled_from(["", "compression=gzip-js", "e=se&uid=u"]) | st.text(max_size=20),
)
def test_junk_either_decodes_to_well_typed_events_or_raises_wire_error(
    path: str, method: str, body: bytes, gzipped: bool, content_type: str, query: str
) -> None:
    """Any body on any path decodes to events with str-or-None ids, or raises WireError."""
    headers = {"Content-Type": content_type}
    if gzipped:
        headers["Content-Encoding"] = "gzip"
        body = gzip.compress(body)
    error: WireError | None = None
    try:
        decoded = decode_request(method, path, headers, body, query)
    except WireError as exc:
        error = exc
    if error is not None:
        assert error.status in {400, 404, 405, 413, 415}
        assert error.reason
        return
    assert decoded.reason == ""
    for event in decoded.events:
        assert isinstance(event.kind, Kind)
        for field in ID_FIELDS:
            assert isinstance(getattr(event, field), (str, type(None))), field
        assert isinstance(event.timestamp, (int, type(None)))
        assert isinstance(event.properties, Mapping)
        assert isinstance(event.traits, Mapping)
        assert event.source == path


# --- hostile input (see also tests/test_collector_hostile.py) ---------------------------


def test_concatenated_gzip_members_decode_to_their_concatenation() -> None:
    """A body of several gzip members (e.g. from a streaming compressor) decodes as one."""
    text = json.dumps(SEGMENT_BATCH).encode()
    body = b"".join(gzip.compress(text[i : i + 7], mtime=0) for i in range(0, len(text), 7))
    decoded = decode_request("POST", SEG, GZIP_JSON, body)
    assert decoded.events == post(SEG, SEGMENT_BATCH).events


def test_too_many_gzip_members_are_refused_with_400() -> None:
    """More than 1024 gzip members is a 400 naming the member count, not quadratic work."""
    body = gzip.compress(b"", mtime=0) * 1025
    with pytest.raises(WireError, match="more than 1024 concatenated members") as info:
        decode_request("POST", SEG, GZIP_JSON, body)
    assert info.value.status == 400


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        (b'{"batch": [{"type": "track", "event": "\\ud800"}]}', "batch[0].event contains the lone"),
        (b'{"batch": [], "\\udc00": 1}', "a key in request body ('\\udc00')"),
        (b'{"batch": [{"type": "track", "properties": {"x": NaN}}]}', "properties.x is NaN"),
        (b'{"batch": [{"type": "track", "properties": {"x": 1e999}}]}', "x is 1e999"),
    ],
)
def test_non_strict_json_raises_400_naming_the_place(body: bytes, fragment: str) -> None:
    """Lone surrogates (keys or values) and non-finite numbers raise 400 with their JSON path."""
    with pytest.raises(WireError) as info:
        decode_request("POST", SEG, JSON, body)
    assert info.value.status == 400
    assert fragment in info.value.reason


def test_deeply_nested_strict_json_is_checked_without_recursion() -> None:
    """The strictness walk is iterative: nesting near the JSON parser's limit is fine."""
    props = "[" * 900 + '"\\ud800"' + "]" * 900
    body = f'{{"batch": [{{"type": "track", "properties": {{"p": {props}}}}}]}}'.encode()
    with pytest.raises(WireError, match=r"properties\.p\[0\]\[0\]"):
        decode_request("POST", SEG, JSON, body)


@pytest.mark.parametrize(
    "text",
    [
        '{"writeKey": "sk_live_S1", "x": 1}',
        "{'api_key': 'S1'}",
        '"$token":"S1',
        "data=x&project_token=S1&v=1",
        "Authorization: Basic S1",
        "Bearer S1",
    ],
)
def test_redact_secrets_blanks_credential_values(text: str) -> None:
    """redact_secrets replaces the values of secret-named fields and auth credentials."""
    redacted = redact_secrets(text)
    assert "S1" not in redacted
    assert "<redacted>" in redacted


def test_redact_secrets_keeps_ordinary_fields() -> None:
    """Group keys, ids and event names that merely end in 'key' or 'token' are kept."""
    text = '{"$group_key": "g1", "se_ac": "monkey", "event": "token bought"}'
    assert redact_secrets(text) == text
