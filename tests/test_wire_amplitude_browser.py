"""Tests for the Amplitude wire format as the browser SDK sends it (@amplitude/analytics-browser).

The bodies are the shape @amplitude/analytics-browser 2.48.1 posts from the bridge
(bridge/sdks/amplitude.mjs) to ``<collector>/amplitude/2/httpapi``: the server SDK's
``{api_key, events}`` plus ``options``, ``client_upload_time`` and ``request_metadata``,
and events with the browser's own fields (``session_id``, ``event_id``, ``platform``...).
The decoder must read them exactly as sent: nothing the SDK sent is dropped or repaired,
so what the suite judges is what the SDK did.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from conformance.collector.wire import WireError, decode_request
from conformance.collector.wire.amplitude import ROUTES
from simulator import Event, Kind

T0 = 1796182749808  # epoch ms, as the SDK's Context plugin stamps it
JSON = {"Content-Type": "application/json"}
PATH = "/amplitude/2/httpapi"
DEVICE = "5fd100dc-92a8-4dfc-ad0e-20ea4cdefe79"
PAGE = {
    "[Amplitude] Page Domain": "app.example.com",
    "[Amplitude] Page Location": "https://app.example.com/",
    "[Amplitude] Page Path": "/",
    "[Amplitude] Page Title": "identity-conformance",
    "[Amplitude] Page URL": "https://app.example.com/",
    "[Amplitude] Previous Page Location": "",
    "[Amplitude] Previous Page Type": "direct",
}


def browser_event(event_type: str, n: int, **fields: Any) -> dict[str, Any]:
    """One event as the browser SDK's Context plugin builds it (``user_id`` only if given)."""
    return {
        "device_id": DEVICE,
        "session_id": T0,
        "time": T0 + n,
        "platform": "Web",
        "language": "en-US",
        "ip": "$remote",
        "insert_id": f"ins-{n}",
        "event_type": event_type,
        "event_id": n,
        "library": "amplitude-ts-sdk-script/2.48.1",
        "user_agent": "Mozilla/5.0 (linux) AppleWebKit/537.36 (KHTML, like Gecko) jsdom/29.1.1",
        **fields,
    }


def browser_body(*events: dict[str, Any]) -> bytes:
    """A batch as the browser SDK's Destination plugin posts it (JSON.stringify, no gzip)."""
    payload = {
        "api_key": "ic-amplitude-api-key",
        "events": list(events),
        "options": {},
        "client_upload_time": "2026-12-02T03:32:29.884Z",
        "request_metadata": {"sdk": {"metrics": {"histogram": {}}}},
    }
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


def decode(body: bytes, path: str = PATH) -> tuple[Event, ...]:
    """Decode one browser batch posted to ``path``."""
    return decode_request("POST", path, JSON, body).events


def test_a_browser_track_decodes_with_its_ids_properties_and_insert_id() -> None:
    """A track is TRACK with user_id, device_id, every event property, insert_id and time in ms."""
    properties = {"plan": "pro", "a": [1, True, None], "b": None, "c": {"d": [[1]]}}
    event = browser_event("Signed Up#1", 3, user_id="u1", event_properties=properties)
    assert decode(browser_body(event)) == (
        Event(
            kind=Kind.TRACK,
            name="Signed Up#1",
            user_id="u1",
            device_id=DEVICE,
            properties=properties,
            message_id="ins-3",
            timestamp=T0 + 3,
            source=PATH,
        ),
    )


def test_an_identify_is_identify_with_the_set_operations_as_traits() -> None:
    """identify(Identify().set(...)) is IDENTIFY whose traits are user_properties.$set, ic_seq included."""
    event = browser_event(
        "$identify", 4, user_id="u1", user_properties={"$set": {"ic_seq": 4, "email": "a@b.c"}}
    )
    (decoded,) = decode(browser_body(event))
    assert decoded.kind is Kind.IDENTIFY
    assert decoded.name is None
    assert (decoded.user_id, decoded.device_id) == ("u1", DEVICE)
    assert decoded.traits == {"ic_seq": 4, "email": "a@b.c"}
    assert decoded.message_id == "ins-4"


def test_the_default_attribution_identify_is_an_identify_without_traits() -> None:
    """The $identify default attribution tracking sends ($setOnce/$unset only) is IDENTIFY, traits empty.

    It is an identify no call produced: the suite must see it as one, not as a bad body.
    """
    event = browser_event(
        "$identify",
        0,
        user_properties={
            "$setOnce": {"initial_referrer": "EMPTY", "initial_utm_source": "EMPTY"},
            "$unset": {"referrer": "-", "utm_source": "-"},
        },
    )
    (decoded,) = decode(browser_body(event))
    assert decoded.kind is Kind.IDENTIFY
    assert decoded.traits == {}
    assert decoded.user_id is None
    assert decoded.device_id == DEVICE


def test_default_tracking_events_decode_as_the_tracks_they_are() -> None:
    """session_start and '[Amplitude] Page Viewed' are TRACK events under their own names."""
    events = decode(
        browser_body(
            browser_event("session_start", 1, event_properties=PAGE),
            browser_event(
                "[Amplitude] Page Viewed",
                2,
                event_properties={**PAGE, "[Amplitude] Page Counter": 1},
            ),
        )
    )
    assert [(e.kind, e.name) for e in events] == [
        (Kind.TRACK, "session_start"),
        (Kind.TRACK, "[Amplitude] Page Viewed"),
    ]
    assert events[1].properties["[Amplitude] Page Counter"] == 1


@pytest.mark.parametrize(
    ("fields", "user_id"),
    [
        ({}, None),
        ({"user_id": None}, None),
        ({"user_id": ""}, ""),
        ({"user_id": "ünï-4 ✓"}, "ünï-4 ✓"),
    ],
    ids=["omitted", "null", "empty", "unicode"],
)
def test_the_user_id_arrives_exactly_as_sent(fields: dict[str, Any], user_id: str | None) -> None:
    """No user_id (after reset) and user_id null (after setUserId(null)) are None; '' stays ''.

    The collector does not hide what setUserId('') did: an empty id is not turned into none.
    """
    (decoded,) = decode(browser_body(browser_event("e#1", 1, **fields)))
    assert decoded.user_id == user_id


def test_browser_only_top_level_keys_and_event_fields_are_ignored() -> None:
    """options, client_upload_time, request_metadata, session_id, event_id... change no event."""
    bare = {
        "api_key": "k",
        "events": [
            {"event_type": "e#1", "device_id": DEVICE, "insert_id": "ins-1", "time": T0 + 1}
        ],
    }
    plain = decode(json.dumps(bare).encode())
    full = decode(browser_body(browser_event("e#1", 1)))
    assert full == plain


def test_the_reply_is_what_the_browser_sdk_reads_as_success() -> None:
    """The reply is JSON with code 200 and events_ingested = the batch size.

    BaseTransport.buildResponse (analytics-core) takes the status from the body's ``code``;
    anything else would make the SDK retry and keep the batch in AMP_unsent_*.
    """
    body = browser_body(browser_event("a#1", 1), browser_event("b#2", 2), browser_event("c#3", 3))
    decoded = decode_request("POST", PATH, JSON, body)
    assert decoded.status == 200
    assert decoded.content_type == "application/json"
    reply = json.loads(decoded.reply)
    assert reply["code"] == 200
    assert reply["events_ingested"] == 3


def test_the_browser_batch_decodes_the_same_unprefixed() -> None:
    """/2/httpapi without the mount (as the server SDK posts) decodes the browser body alike."""
    body = browser_body(browser_event("a#1", 1, user_id="u1"))
    mounted = decode(body)
    unprefixed = decode(body, "/2/httpapi")
    assert [e.kind for e in unprefixed] == [e.kind for e in mounted]
    assert [(e.name, e.user_id, e.message_id) for e in unprefixed] == [
        (e.name, e.user_id, e.message_id) for e in mounted
    ]


def test_a_preflight_to_the_browser_endpoint_is_answered_with_no_events() -> None:
    """A CORS preflight (OPTIONS) to /amplitude/2/httpapi is 204 and records nothing."""
    decoded = decode_request("OPTIONS", PATH, {}, b"")
    assert decoded.status == 204
    assert decoded.events == ()


def test_a_malformed_browser_event_is_refused_not_repaired() -> None:
    """An event whose user_id is not a string or null is a 400, never a silently fixed event."""
    with pytest.raises(WireError) as raised:
        decode(browser_body(browser_event("e#1", 1, user_id=7)))
    assert raised.value.status == 400
    assert "user_id" in str(raised.value)


def test_no_stub_routes_the_bridge_turns_remote_config_off() -> None:
    """Every Amplitude route ingests events: the bridge sets fetchRemoteConfig false, so none is a stub."""
    assert {route.path for route in ROUTES} == {"/2/httpapi", "/batch"}
    assert all(route.ingests for route in ROUTES)
