"""Tests for conformance.collector.wire.routing: vendor mounts, stub routes and unprefixed paths."""

from __future__ import annotations

import base64
import gzip
import json
import re
import urllib.parse
from typing import Any

import attrs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance._errors import ConformanceError
from conformance.collector.wire import (
    COLLECTOR_PATHS,
    VENDOR_ROUTES,
    VENDORS,
    Decoded,
    Route,
    UnknownVendorError,
    WireError,
    check_vendor,
    decode_request,
    stub,
    vendor_url,
)
from simulator import Event, Kind

JSON = {"Content-Type": "application/json"}
FORM = {"Content-Type": "application/x-www-form-urlencoded"}
SEGMENT_BATCH = {
    "batch": [{"type": "track", "event": "Bought", "userId": "u1", "messageId": "m1"}],
    "writeKey": "WK",
}
MIXPANEL_DATA = [{"event": "Bought", "properties": {"distinct_id": "d1", "$insert_id": "m1"}}]

# One event request per vendor: (method, path under the mount, headers, body, query).
SAMPLES: dict[str, tuple[str, str, dict[str, str], bytes, str]] = {
    "segment": ("POST", "/v1/batch", JSON, json.dumps(SEGMENT_BATCH).encode(), ""),
    "rudderstack": ("POST", "/v1/batch", JSON, json.dumps(SEGMENT_BATCH).encode(), ""),
    "posthog": (
        "POST",
        "/batch/",
        JSON,
        json.dumps(
            {"api_key": "K", "batch": [{"event": "Bought", "distinct_id": "d1", "uuid": "m1"}]}
        ).encode(),
        "",
    ),
    "amplitude": (
        "POST",
        "/batch",
        JSON,
        json.dumps(
            {
                "api_key": "K",
                "events": [{"event_type": "Bought", "user_id": "u1", "insert_id": "m1"}],
            }
        ).encode(),
        "",
    ),
    "mixpanel": (
        "POST",
        "/track",
        FORM,
        urllib.parse.urlencode({"data": json.dumps(MIXPANEL_DATA)}).encode(),
        "",
    ),
    "snowplow": ("GET", "/i", {}, b"", "e=se&se_ac=Bought&uid=u1&eid=m1"),
}
EXPECTED: dict[str, Event] = {
    "segment": Event(kind=Kind.TRACK, name="Bought", user_id="u1", message_id="m1"),
    "rudderstack": Event(kind=Kind.TRACK, name="Bought", user_id="u1", message_id="m1"),
    "posthog": Event(kind=Kind.TRACK, name="Bought", distinct_id="d1", message_id="m1"),
    "amplitude": Event(kind=Kind.TRACK, name="Bought", user_id="u1", message_id="m1"),
    "mixpanel": Event(kind=Kind.TRACK, name="Bought", distinct_id="d1", message_id="m1"),
    "snowplow": Event(kind=Kind.TRACK, name="Bought", user_id="u1", message_id="m1"),
}
# The unprefixed paths as they were before vendors had mounts; they must never change.
UNPREFIXED_PATHS = frozenset(
    {
        "/v1/batch",
        *(f"/v1/{name}" for name in ("track", "identify", "alias", "group", "page", "screen")),
        *(f"/v1/{short}" for short in "tiagp"),
        "/batch/",
        "/e/",
        "/capture/",
        "/i/v0/e/",
        "/2/httpapi",
        "/batch",
        *(f"/{name}{end}" for name in ("track", "engage", "groups", "import") for end in ("/", "")),
        "/com.snowplowanalytics.snowplow/tp2",
        "/i",
    }
)
STUBS = [
    (vendor, route)
    for vendor, routes in VENDOR_ROUTES.items()
    for route in routes
    if not route.ingests
]


def fill(path: str) -> str:
    """Replace each ``{placeholder}`` of a route path with a sample key."""
    return re.sub(r"\{[^}]+\}", "WK", path)


def sample(vendor: str, prefix: str) -> Decoded:
    """Decode the vendor's sample request under ``prefix`` (``""`` for unprefixed)."""
    method, path, headers, body, query = SAMPLES[vendor]
    return decode_request(method, prefix + path, headers, body, query)


def test_vendors_are_the_six_mounts() -> None:
    """The vendor names are the six wire formats, in a fixed order."""
    assert VENDORS == ("segment", "rudderstack", "posthog", "amplitude", "mixpanel", "snowplow")
    assert tuple(VENDOR_ROUTES) == VENDORS


@pytest.mark.parametrize("vendor", VENDORS)
def test_prefixed_request_is_decoded_by_its_vendor(vendor: str) -> None:
    """/<vendor>/<path> decodes with the vendor's format and names the prefixed path as source."""
    decoded = sample(vendor, f"/{vendor}")
    assert list(decoded.events) == [EXPECTED[vendor]]
    path = SAMPLES[vendor][1]
    assert [event.source for event in decoded.events] == [f"/{vendor}{path}"]
    assert decoded.status == 200


@pytest.mark.parametrize("vendor", [v for v in VENDORS if v != "rudderstack"])
def test_unprefixed_request_decodes_as_before(vendor: str) -> None:
    """The unprefixed path decodes to the same events and reply, with the bare path as source."""
    prefixed, bare = sample(vendor, f"/{vendor}"), sample(vendor, "")
    assert list(bare.events) == list(prefixed.events)
    assert (bare.status, bare.reply, bare.content_type) == (
        prefixed.status,
        prefixed.reply,
        prefixed.content_type,
    )
    assert [event.source for event in bare.events] == [SAMPLES[vendor][1]]


def test_segment_and_rudderstack_share_v1_batch_but_not_the_source() -> None:
    """/segment/v1/batch and /rudderstack/v1/batch decode alike; the source tells them apart."""
    body = json.dumps(SEGMENT_BATCH).encode()
    segment = decode_request("POST", "/segment/v1/batch", JSON, body)
    rudder = decode_request("POST", "/rudderstack/v1/batch", JSON, body)
    assert list(segment.events) == list(rudder.events) == [EXPECTED["segment"]]
    assert [e.source for e in segment.events] == ["/segment/v1/batch"]
    assert [e.source for e in rudder.events] == ["/rudderstack/v1/batch"]
    assert segment.reply == rudder.reply == b'{"success":true}'


def test_each_vendor_mount_knows_only_its_own_configuration_stub() -> None:
    """Segment's settings stub is not RudderStack's and vice versa: the mount picks the vendor."""
    settings_path, source_config = "/v1/projects/WK/settings", "/sourceConfig/"
    assert decode_request("GET", "/segment" + settings_path, {}, b"").status == 200
    assert decode_request("GET", "/rudderstack" + source_config, {}, b"").status == 200
    for path in ("/rudderstack" + settings_path, "/segment" + source_config):
        with pytest.raises(WireError) as info:
            decode_request("GET", path, {}, b"")
        assert info.value.status == 404


@pytest.mark.parametrize(
    ("path", "owner"),
    [
        ("/posthog/batch", "amplitude"),
        ("/amplitude/batch/", "posthog"),
        ("/segment/batch/", "posthog"),
        ("/posthog/v1/batch", "segment"),
        ("/mixpanel/i", "snowplow"),
        ("/snowplow/track", "mixpanel"),
        ("/amplitude/v1/batch", "segment"),
    ],
)
def test_another_vendors_path_under_a_mount_is_404(path: str, owner: str) -> None:
    """A path that only another vendor serves is refused under this vendor's mount."""
    payload = {"batch": [], "events": [], "data": []}
    with pytest.raises(WireError) as info:
        decode_request("POST", path, JSON, json.dumps(payload).encode())
    vendor = path.split("/")[1]
    assert info.value.status == 404
    assert f"for vendor {vendor!r}" in info.value.reason
    assert path.removeprefix(f"/{vendor}") in sample_paths(owner)


def sample_paths(vendor: str) -> set[str]:
    """Every path under the vendor's mount."""
    return {route.path for route in VENDOR_ROUTES[vendor]}


def test_amplitude_batch_and_posthog_batch_slash_are_unambiguous_under_mounts() -> None:
    """/amplitude/batch is Amplitude's format and /posthog/batch/ PostHog's, each as declared."""
    assert list(sample("amplitude", "/amplitude").events) == [EXPECTED["amplitude"]]
    assert list(sample("posthog", "/posthog").events) == [EXPECTED["posthog"]]
    with pytest.raises(WireError) as info:
        decode_request("POST", "/posthog/batch", *SAMPLES["posthog"][2:4])
    assert info.value.status == 404


@pytest.mark.parametrize("path", ["/segment", "/segment/", "/segment/nope", "/posthog/decide/x"])
def test_unknown_path_under_a_mount_is_404_listing_the_vendors_paths(path: str) -> None:
    """An unknown path under a mount is a 404 that names the vendor and lists its paths."""
    with pytest.raises(WireError) as info:
        decode_request("POST", path, JSON, b"{}")
    assert info.value.status == 404
    assert repr(path) in info.value.reason
    vendor = path.split("/")[1]
    assert f"expected /{vendor} followed by one of" in info.value.reason
    assert all(route.path in info.value.reason for route in VENDOR_ROUTES[vendor])


def test_vendor_prefix_is_case_sensitive() -> None:
    """/Segment/v1/batch is not Segment's mount; it is an unknown unprefixed path."""
    with pytest.raises(WireError) as info:
        decode_request("POST", "/Segment/v1/batch", JSON, json.dumps(SEGMENT_BATCH).encode())
    assert info.value.status == 404
    assert "collector paths" in info.value.reason


def test_unprefixed_paths_are_exactly_the_paths_of_old() -> None:
    """COLLECTOR_PATHS, the unprefixed paths, are the 28 event paths routed before mounts."""
    assert COLLECTOR_PATHS == UNPREFIXED_PATHS


@pytest.mark.parametrize("path", sorted({fill(route.path) for _, route in STUBS}))
def test_stub_paths_are_not_served_unprefixed(path: str) -> None:
    """Configuration stubs exist only under a vendor mount; unprefixed they are 404 as before."""
    assert path not in COLLECTOR_PATHS
    with pytest.raises(WireError) as info:
        decode_request("GET", path, {}, b"")
    assert info.value.status == 404


def test_the_declared_stubs_are_the_known_browser_configuration_endpoints() -> None:
    """Stubs: Segment CDN settings, RudderStack sourceConfig, PostHog decide/flags/config, Mixpanel decide."""
    assert {(vendor, route.path) for vendor, route in STUBS} == {
        ("segment", "/v1/projects/{key}/settings"),
        ("rudderstack", "/sourceConfig"),
        ("rudderstack", "/sourceConfig/"),
        ("posthog", "/decide/"),
        ("posthog", "/flags/"),
        ("posthog", "/array/{token}/config"),
        ("mixpanel", "/decide"),
        ("mixpanel", "/decide/"),
    }


@pytest.mark.parametrize(
    ("vendor", "route", "method"),
    [(vendor, route, method) for vendor, route in STUBS for method in sorted(route.methods)],
    ids=lambda value: value.path if isinstance(value, Route) else str(value),
)
def test_stub_answers_200_json_and_decodes_no_events(
    vendor: str, route: Route, method: str
) -> None:
    """Every stub answers status 200 with a JSON object body and decodes to no events."""
    path = f"/{vendor}{fill(route.path)}"
    decoded = decode_request(method, path, JSON, b'{"token": "T", "distinct_id": "d"}', "v=3")
    assert (decoded.events, decoded.status, decoded.content_type) == ((), 200, "application/json")
    assert isinstance(json.loads(decoded.reply), dict)


def test_stub_ignores_whatever_is_sent() -> None:
    """A stub answers the same body for garbage as for a well-formed request."""
    good = decode_request("POST", "/posthog/decide/", JSON, b"{}", "v=3")
    junk = decode_request("POST", "/posthog/decide/", {"Content-Type": "x/y"}, b"\xff\x00", "%%")
    assert junk == good


def test_stub_refuses_a_method_it_does_not_declare_with_405() -> None:
    """A GET-only stub answers POST with 405, like every other route."""
    with pytest.raises(WireError) as info:
        decode_request("POST", "/segment/v1/projects/WK/settings", JSON, b"{}")
    assert info.value.status == 405


def test_stub_placeholder_matches_one_path_segment_only() -> None:
    """A {key} placeholder matches one non-empty segment, never a slash or nothing."""
    assert decode_request("GET", "/posthog/array/phc_123/config", {}, b"").status == 200
    for path in ("/posthog/array//config", "/posthog/array/a/b/config"):
        with pytest.raises(WireError) as info:
            decode_request("GET", path, {}, b"")
        assert info.value.status == 404


def test_stub_reply_is_compact_sorted_json() -> None:
    """stub() serialises its body once, compactly and with sorted keys."""
    route = stub("/x", {"b": 1, "a": [True]})
    assert route.decode(_any_request()).reply == b'{"a":[true],"b":1}'
    assert not route.ingests
    assert route.methods == frozenset({"GET"})


def _any_request() -> Any:
    """A request for a stub decoder, which ignores it."""
    from conformance.collector.wire.common import Request

    return Request("GET", "/x", "", b"", "", 0, "/x")


@pytest.mark.parametrize("path", ["/segment/v1/batch", "/posthog/decide/", "/snowplow/i"])
def test_options_preflight_under_a_mount_is_an_empty_204(path: str) -> None:
    """A CORS preflight to a mounted path, stubs included, decodes to no events and a 204."""
    decoded = decode_request("OPTIONS", path, {}, b"")
    assert (decoded.events, decoded.status) == ((), 204)


def test_gzip_body_under_a_mount_is_gunzipped() -> None:
    """Content-Encoding: gzip is honoured under a mount as on unprefixed paths."""
    body = gzip.compress(json.dumps(SEGMENT_BATCH).encode())
    headers = {**JSON, "Content-Encoding": "gzip"}
    decoded = decode_request("POST", "/rudderstack/v1/batch", headers, body)
    assert list(decoded.events) == [EXPECTED["rudderstack"]]


def test_mixpanel_browser_base64_under_its_mount() -> None:
    """mixpanel-browser's base64 data= decodes under /mixpanel with the prefixed source."""
    data = base64.b64encode(json.dumps(MIXPANEL_DATA).encode()).decode()
    decoded = decode_request(
        "GET", "/mixpanel/track/", {}, b"", urllib.parse.urlencode({"data": data})
    )
    assert list(decoded.events) == [EXPECTED["mixpanel"]]
    assert decoded.events[0].source == "/mixpanel/track/"


# The unprefixed path of each vendor's event route, and the vendor that owns it there.
OWNERS = sorted(
    (route.path, vendor)
    for vendor, routes in VENDOR_ROUTES.items()
    if vendor != "rudderstack"
    for route in routes
    if route.ingests
)


@settings(max_examples=200)
@given(
    owned=st.sampled_from(OWNERS),
    method=st.sampled_from(["POST", "GET", "OPTIONS"]),
    body=st.sampled_from([json.dumps(SEGMENT_BATCH).encode(), *(s[3] for s in SAMPLES.values())])
    | st.binary(max_size=200),
    content_type=st.sampled_from(["application/json", "text/plain", FORM["Content-Type"], ""]),
    query=st.sampled_from(["", "compression=gzip-js", "e=se&uid=u", SAMPLES["snowplow"][4]]),
)
def test_unprefixed_and_prefixed_paths_decode_alike(
    owned: tuple[str, str], method: str, body: bytes, content_type: str, query: str
) -> None:
    """Any request decodes unprefixed as under its owner's mount: same events, reply or status."""
    path, vendor = owned
    headers = {"Content-Type": content_type}
    outcomes = [_outcome(method, full, headers, body, query) for full in (path, f"/{vendor}{path}")]
    assert outcomes[0] == outcomes[1]


def _outcome(method: str, path: str, headers: dict[str, str], body: bytes, query: str) -> object:
    """The events (without source), reply and status of a request, or its error status."""
    try:
        decoded = decode_request(method, path, headers, body, query)
    except WireError as exc:
        return ("error", exc.status)
    assert all(event.source == path for event in decoded.events)
    return ([_sourceless(event) for event in decoded.events], decoded.reply, decoded.status)


def _sourceless(event: Event) -> dict[str, Any]:
    """An event as a dict without its source."""
    return {k: v for k, v in attrs.asdict(event).items() if k != "source"}


# --- vendor names ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "shown", "hint"),
    [
        ("Segment", "'Segment' of type str", "Did you mean 'segment'?"),
        ("segmnet", "'segmnet' of type str", "Did you mean 'segment'?"),
        ("rudder", "'rudder' of type str", "Did you mean 'rudderstack'?"),
        ("heap", "'heap' of type str", None),
        ("post-hog", "'post-hog' of type str", "Did you mean 'posthog'?"),
        ("", "'' of type str", None),
        (None, "None of type NoneType", None),
        (42, "42 of type int", None),
        (b"mixpanel", "b'mixpanel' of type bytes", "Did you mean 'mixpanel'?"),
    ],
)
def test_unknown_vendor_names_value_type_choices_and_closest_match(
    value: object, shown: str, hint: str | None
) -> None:
    """An unknown vendor is a ConformanceError and ValueError naming value, type and vendors."""
    with pytest.raises(UnknownVendorError) as info:
        check_vendor(value)
    error = info.value
    assert isinstance(error, ConformanceError)
    assert isinstance(error, ValueError)
    assert error.vendor == value
    message = str(error)
    assert shown in message
    assert all(vendor in message for vendor in VENDORS)
    if hint is None:
        assert "Did you mean" not in message
    else:
        assert message.endswith(hint)


def test_check_vendor_returns_a_known_vendor_unchanged() -> None:
    """check_vendor() hands back each known vendor name."""
    assert [check_vendor(vendor) for vendor in VENDORS] == list(VENDORS)


def test_vendor_url_appends_the_vendor_to_the_base() -> None:
    """vendor_url() is <base>/<vendor>, whether or not the base ends in a slash."""
    assert vendor_url("http://127.0.0.1:8000", "posthog") == "http://127.0.0.1:8000/posthog"
    assert vendor_url("http://127.0.0.1:8000/", "snowplow") == "http://127.0.0.1:8000/snowplow"
    with pytest.raises(UnknownVendorError):
        vendor_url("http://127.0.0.1:8000", "nope")
