"""Tests for posthog-js (browser) bodies in conformance.collector.wire.posthog.

The payloads are shaped like posthog-js 1.449.2's (``packages/browser/src/request.ts``,
``posthog-core.ts``), trimmed to a representative subset of its automatic properties.
"""

from __future__ import annotations

import base64
import gzip
import json
import urllib.parse
from typing import Any

import attrs
import pytest

from conformance.collector.wire import Decoded, WireError, decode_request
from simulator import Event, Kind

TEXT = {"Content-Type": "text/plain"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
DEVICE = "01a234d9-c49b-7ae8-8f47-71c24ae804a3"
T0 = "2026-12-02T03:43:36.824Z"
T0_MS = 1796183016824

# What posthog-js adds to every event (a subset), none of it the caller's.
AUTOMATIC = {
    "$os": "Linux",
    "$browser": "Safari",
    "$current_url": "https://app.example.com/",
    "$raw_user_agent": "Mozilla/5.0 (linux) AppleWebKit/537.36 (KHTML, like Gecko) jsdom/29.1.1",
    "$browser_version": None,
    "$lib": "web",
    "$lib_version": "1.449.2",
    "$insert_id": "b73pplilfdonhj87",
    "$time": 1796183016.827,
    "$initialization_time": "2026-12-02T03:43:36.580Z",
    "$sdk_debug_extensions_init_time_ms": 11,
    "$referrer": "$direct",
    "token": "phc_identity_conformance",
    "$config_defaults": "unset",
    "$session_id": "01a234d9-c521-79e8-8b64-f70b45177318",
    "$window_id": "01a234d9-c521-79e8-8b64-f70c8a6dc685",
    "$session_entry_url": "https://app.example.com/",
    "$recording_status": "disabled",
    "$sdk_debug_retry_queue_size": 0,
    "$lib_custom_api_host": "http://127.0.0.1:40837/posthog",
    "$pageview_id": "01a234d9-c4df-72fa-9e13-bfbe34e219d8",
    "$lib_rate_limit_remaining_tokens": 99,
}


def js_event(name: str, uuid: str, **properties: Any) -> dict[str, Any]:
    """One posthog-js event: the automatic properties, then the given ones."""
    return {
        "uuid": uuid,
        "event": name,
        "properties": {**AUTOMATIC, **properties},
        "timestamp": T0,
    }


def capture_body(*events: dict[str, Any]) -> dict[str, Any]:
    """The body posthog-js POSTs to ``/e/`` (``addSentAtToCaptureBody``)."""
    return {"api_key": "phc_identity_conformance", "batch": list(events), "sent_at": T0}


TRACK = js_event(
    "Signed Up#3",
    "01a234d9-c578-73f4-ad3e-618ee221d19d",
    distinct_id=DEVICE,
    **{"$device_id": DEVICE, "$is_identified": False, "$process_person_profile": False},
    plan="pro",
    seats=3,
)
TRACK_DECODED = Event(
    kind=Kind.TRACK,
    name="Signed Up#3",
    device_id=DEVICE,
    distinct_id=DEVICE,
    properties={"plan": "pro", "seats": 3},
    message_id="01a234d9-c578-73f4-ad3e-618ee221d19d",
    timestamp=T0_MS,
    source="/posthog/e/",
)


def gzip_post(path: str, doc: Any, query: str = "") -> Decoded:
    """POST ``doc`` the way posthog-js does by default: gzip bytes as a text/plain body."""
    body = gzip.compress(json.dumps(doc).encode(), mtime=0)
    return decode_request("POST", path, TEXT, body, query)


def test_gzip_body_without_a_query_flag_is_recognised_by_its_magic_bytes() -> None:
    """posthog-js 1.449 strips ``compression=gzip-js``: a body starting 1f 8b is gunzipped."""
    decoded = gzip_post("/posthog/e/", capture_body(TRACK), "ver=1.449.2")
    assert decoded == Decoded(events=(TRACK_DECODED,), reply=b'{"status":1}')


def test_gzip_flag_in_the_query_is_still_honoured() -> None:
    """Older releases' ``?compression=gzip-js`` keeps working on the browser endpoints."""
    decoded = gzip_post("/posthog/i/v0/e/", capture_body(TRACK), "compression=gzip-js")
    assert decoded.events == (attrs.evolve(TRACK_DECODED, source="/posthog/i/v0/e/"),)


def test_a_truncated_gzip_body_is_refused_with_400() -> None:
    """Magic bytes followed by garbage are a malformed body, not JSON."""
    with pytest.raises(WireError) as excinfo:
        decode_request("POST", "/posthog/e/", TEXT, b"\x1f\x8b\x08\x00broken", "")
    assert excinfo.value.status == 400


def test_plain_json_body_decodes_like_the_gzip_one() -> None:
    """With ``disable_compression: true`` the same body arrives as JSON."""
    body = json.dumps(capture_body(TRACK)).encode()
    decoded = decode_request("POST", "/posthog/e/", {"Content-Type": "application/json"}, body)
    assert decoded.events == (TRACK_DECODED,)


def base64_form(doc: Any) -> bytes:
    """``data=<base64 of the UTF-8 JSON>``, as posthog-js's ``encodeToDataString`` writes it."""
    text = base64.b64encode(json.dumps(doc, ensure_ascii=False).encode()).decode()
    return ("data=" + urllib.parse.quote(text, safe="")).encode()


def test_base64_form_body_decodes() -> None:
    """``?compression=base64`` (sendBeacon without gzip): the form's data= is base64 JSON."""
    event = {**TRACK, "event": "Ünïcødé ✓ 事件#4"}
    decoded = decode_request(
        "POST", "/posthog/e/", FORM, base64_form(capture_body(event)), "compression=base64"
    )
    assert decoded.events == (attrs.evolve(TRACK_DECODED, name="Ünïcødé ✓ 事件#4"),)


def test_form_body_without_a_flag_takes_json_or_base64() -> None:
    """Unflagged, a form's data= is read as JSON when it is JSON, else as base64 JSON."""
    as_json = ("data=" + urllib.parse.quote(json.dumps(capture_body(TRACK)))).encode()
    assert decode_request("POST", "/posthog/e/", FORM, as_json).events == (TRACK_DECODED,)
    as_b64 = base64_form(capture_body(TRACK))
    assert decode_request("POST", "/posthog/e/", FORM, as_b64).events == (TRACK_DECODED,)


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"ver=1", "no data= field"),
        (b"data=%%%not-base64", "not valid base64"),
        (b"data=" + base64.b64encode(b"{not json"), "not valid JSON"),
        (b"data=\xff\xfe", "not UTF-8"),
    ],
    ids=["no-data", "bad-base64", "bad-json", "not-utf8"],
)
def test_malformed_base64_forms_are_refused_with_400(body: bytes, words: str) -> None:
    """A base64 form without data=, or with data that is not base64 JSON, is a 400 naming why."""
    with pytest.raises(WireError, match=words) as excinfo:
        decode_request("POST", "/posthog/e/", FORM, body, "compression=base64")
    assert excinfo.value.status == 400


def test_posthog_js_identify_maps_ids_traits_and_drops_set_once() -> None:
    """$identify: user = distinct id, previous = $anon_distinct_id, traits = top-level $set."""
    event = js_event(
        "$identify",
        "01a234d9-c586-7681-b1dc-4dc27580e2d7",
        distinct_id="u1",
        **{"$device_id": DEVICE, "$user_id": "u1", "$anon_distinct_id": DEVICE},
    )
    event["$set"] = {"ic_seq": 2, "name": "N"}
    event["$set_once"] = {"$initial_referrer": "$direct", "utm_source": None}
    decoded = gzip_post("/posthog/e/", capture_body(event))
    assert decoded.events == (
        Event(
            kind=Kind.IDENTIFY,
            user_id="u1",
            device_id=DEVICE,
            distinct_id="u1",
            previous_id=DEVICE,
            traits={"ic_seq": 2, "name": "N"},
            message_id="01a234d9-c586-7681-b1dc-4dc27580e2d7",
            timestamp=T0_MS,
            source="/posthog/e/",
        ),
    )


def test_posthog_js_create_alias_names_the_alias_and_the_original_id() -> None:
    """$create_alias: user = properties.alias (consumed), previous = the original distinct id."""
    event = js_event(
        "$create_alias",
        "01a234d9-c5b3-7698-98f3-a8a378af8252",
        distinct_id="u1",
        alias="u2",
        **{"$device_id": DEVICE, "$user_id": "u1"},
    )
    decoded = gzip_post("/posthog/e/", capture_body(event))
    assert decoded.events == (
        Event(
            kind=Kind.ALIAS,
            user_id="u2",
            device_id=DEVICE,
            distinct_id="u1",
            previous_id="u1",
            message_id="01a234d9-c5b3-7698-98f3-a8a378af8252",
            timestamp=T0_MS,
            source="/posthog/e/",
        ),
    )


def test_pageview_title_is_the_sdks_but_a_callers_title_elsewhere_is_kept() -> None:
    """``title`` is posthog-js's own on $pageview only; on a capture it is the caller's."""
    pageview = js_event("$pageview", "p-1", distinct_id=DEVICE, title="identity-conformance")
    capture = js_event("Read#5", "p-2", distinct_id=DEVICE, title="Dune")
    decoded = gzip_post("/posthog/e/", capture_body(pageview, capture))
    assert [(e.kind, e.properties) for e in decoded.events] == [
        (Kind.PAGE, {}),
        (Kind.TRACK, {"title": "Dune"}),
    ]


def test_posthog_js_integers_beyond_2_53_are_read_as_the_doubles_sent() -> None:
    """JSON.stringify writes an integral double as digits; they are read back as that double."""
    value = -1.0004922219186094e18  # a float32, as the suite's pools draw them
    event = js_event("Big#6", "b-1", distinct_id=DEVICE, big=value, nested={"n": [value, 2**53]})
    event["$set"] = {"big": value}
    text = json.dumps(capture_body(event)).replace(repr(value), "-1000492221918609400")
    assert "-1000492221918609400" in text
    body = gzip.compress(text.encode())
    (decoded,) = decode_request("POST", "/posthog/e/", TEXT, body).events
    assert decoded.properties == {"big": value, "nested": {"n": [value, 2**53]}}
    assert type(decoded.properties["big"]) is float
    assert type(decoded.properties["nested"]["n"][1]) is int  # 2**53 is exact either way


def test_posthog_python_events_keep_exact_integers_and_their_dollar_keys() -> None:
    """Only posthog-js ($lib web) events get the browser rules; a server SDK's are unchanged."""
    event = {
        "event": "e",
        "distinct_id": "d",
        "properties": {"$lib": "posthog-python", "$custom": 1, "big": 2**60},
    }
    (decoded,) = decode_request(
        "POST", "/posthog/batch/", {"Content-Type": "application/json"},
        json.dumps({"batch": [event]}).encode(),
    ).events  # fmt: skip
    assert decoded.properties == {"$custom": 1, "big": 2**60}
    assert type(decoded.properties["big"]) is int


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/posthog/flags/"),
        ("POST", "/posthog/decide/"),
        ("GET", "/posthog/array/phc_x/config"),
    ],
)
def test_flags_and_config_endpoints_answer_locally_with_no_events(method: str, path: str) -> None:
    """posthog-js's flags, decide and remote-config requests are stubs: 200 JSON, no events."""
    decoded = decode_request(method, path, {"Content-Type": "application/json"}, b"{}", "v=2")
    assert decoded.events == ()
    assert decoded.status == 200
    assert isinstance(json.loads(decoded.reply), dict)
