"""The RudderStack browser SDK's endpoints under the /rudderstack mount (@rudderstack/analytics-js v3).

The bridge (bridge/sdks/rudderstack.mjs) points the SDK's data plane URL and configUrl at
``<collector>/rudderstack``: it fetches ``/sourceConfig/`` (a stub), then its XhrQueue posts
one event per request to ``/v1/<type>``, or ``{batch, sentAt}`` to ``/v1/batch`` when
batching is on; its BeaconQueue posts the same batch body as a text/plain Blob to
``/beacon/v1/batch?writeKey=...`` (SEMANTICS.md 2.5, 6.2).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from conformance.collector.wire import VENDOR_ROUTES, WireError, decode_request
from simulator import Event, Kind

JSON = {"Content-Type": "application/json;charset=UTF-8"}
BEACON = {"Content-Type": "text/plain"}
# 2026-01-01T00:00:00.000Z in epoch milliseconds.
JAN_1 = 1_767_225_600_000

# What the v3 SDK sends, trimmed to the fields the decoder reads and a few it ignores.
ANONYMOUS_TRACK: dict[str, Any] = {
    "type": "track",
    "event": "Signed Up#100001",
    "properties": {"plan": "pro"},
    "channel": "web",
    "userId": "",
    "anonymousId": "9aef74bc-45ab-426c-85e8-a00ded63d868",
    "context": {"traits": {}, "sessionId": 1796182248301, "sessionStart": True},
    "messageId": "2d1a7c1e-0000-4000-8000-000000000001",
    "originalTimestamp": "2026-01-01T00:00:00.000Z",
    "sentAt": "2026-01-01T00:00:00.010Z",
    "integrations": {"All": True},
}
IDENTIFY: dict[str, Any] = {
    "type": "identify",
    "channel": "web",
    "userId": "u1",
    "anonymousId": "9aef74bc-45ab-426c-85e8-a00ded63d868",
    "context": {"traits": {"ic_seq": 100002, "email": "a@b.c"}, "sessionId": 1796182248301},
    "messageId": "2d1a7c1e-0000-4000-8000-000000000002",
    "originalTimestamp": "2026-01-01T00:00:01.500Z",
    "sentAt": "2026-01-01T00:00:01.510Z",
}
ALIAS: dict[str, Any] = {
    "type": "alias",
    "channel": "web",
    "userId": "u2",
    "previousId": "u1",
    "anonymousId": "9aef74bc-45ab-426c-85e8-a00ded63d868",
    "context": {"traits": {"email": "a@b.c"}},
    "messageId": "2d1a7c1e-0000-4000-8000-000000000003",
    "originalTimestamp": "2026-01-01T00:00:02.000Z",
}


def expected(source: str) -> tuple[Event, ...]:
    """The three sample messages as canonical events, each with ``source``."""
    return (
        Event(
            kind=Kind.TRACK,
            name="Signed Up#100001",
            anonymous_id="9aef74bc-45ab-426c-85e8-a00ded63d868",
            properties={"plan": "pro"},
            context=ANONYMOUS_TRACK["context"],
            message_id="2d1a7c1e-0000-4000-8000-000000000001",
            timestamp=JAN_1,
            source=source,
        ),
        Event(
            kind=Kind.IDENTIFY,
            user_id="u1",
            anonymous_id="9aef74bc-45ab-426c-85e8-a00ded63d868",
            traits={"ic_seq": 100002, "email": "a@b.c"},
            context=IDENTIFY["context"],
            message_id="2d1a7c1e-0000-4000-8000-000000000002",
            timestamp=JAN_1 + 1500,
            source=source,
        ),
        Event(
            kind=Kind.ALIAS,
            user_id="u2",
            anonymous_id="9aef74bc-45ab-426c-85e8-a00ded63d868",
            previous_id="u1",
            context=ALIAS["context"],
            message_id="2d1a7c1e-0000-4000-8000-000000000003",
            timestamp=JAN_1 + 2000,
            source=source,
        ),
    )


def batch_body() -> bytes:
    """The body XhrQueue (batching on) and BeaconQueue send: ``{batch, sentAt}``."""
    batch = {"batch": [ANONYMOUS_TRACK, IDENTIFY, ALIAS], "sentAt": "2026-01-01T00:00:03.000Z"}
    return json.dumps(batch).encode()


@pytest.mark.parametrize(
    ("path", "message", "index"),
    [("/v1/track", ANONYMOUS_TRACK, 0), ("/v1/identify", IDENTIFY, 1), ("/v1/alias", ALIAS, 2)],
)
def test_xhr_queue_single_event_per_type_path(path: str, message: dict[str, Any], index: int) -> None:
    """One event per POST to /rudderstack/v1/<type>: userId "" is None, identify traits are context.traits."""
    decoded = decode_request("POST", "/rudderstack" + path, JSON, json.dumps(message).encode())
    assert decoded.events == (expected("/rudderstack" + path)[index],)
    assert decoded.status == 200


def test_beacon_batch_is_decoded_like_v1_batch() -> None:
    """/rudderstack/beacon/v1/batch?writeKey= (a text/plain Blob) decodes to every event of its batch."""
    source = "/rudderstack/beacon/v1/batch"
    decoded = decode_request("POST", source, BEACON, batch_body(), "writeKey=ic-write-key")
    assert decoded.events == expected(source)


def test_xhr_batch_under_the_mount() -> None:
    """With queueOptions.batch the XhrQueue posts the same body to /rudderstack/v1/batch."""
    decoded = decode_request("POST", "/rudderstack/v1/batch", JSON, batch_body())
    assert decoded.events == expected("/rudderstack/v1/batch")


def test_beacon_path_is_rudderstack_only() -> None:
    """Segment's mount has no beacon path: /segment/beacon/v1/batch is a 404, as before."""
    with pytest.raises(WireError) as info:
        decode_request("POST", "/segment/beacon/v1/batch", BEACON, batch_body())
    assert info.value.status == 404


def test_beacon_batch_without_a_batch_list_is_refused() -> None:
    """A beacon body whose ``batch`` is not a list is a 400 naming the field, as on /v1/batch."""
    with pytest.raises(WireError) as info:
        decode_request("POST", "/rudderstack/beacon/v1/batch", BEACON, b'{"batch": {}}')
    assert info.value.status == 400
    assert "batch" in info.value.reason


def test_source_config_stub_is_a_valid_enabled_source() -> None:
    """GET /rudderstack/sourceConfig/?... answers what the SDK's isValidSourceConfig accepts.

    That is an object whose ``source`` has an ``id``, a ``config`` object and a
    ``destinations`` list; ``enabled`` true and no destinations, so nothing is loaded from
    a CDN and events go to the data plane URL.
    """
    query = "p=npm&v=3.34.1&build=modern&writeKey=ic-write-key"
    decoded = decode_request("GET", "/rudderstack/sourceConfig/", {}, b"", query)
    config = json.loads(decoded.reply)
    source = config["source"]
    assert (decoded.status, decoded.events) == (200, ())
    assert source["id"]
    assert isinstance(source["config"], dict)
    assert source["destinations"] == []
    assert source["enabled"] is True


def test_rudderstack_mount_serves_the_browser_paths() -> None:
    """The mount has the single-call paths, both batch paths and the sourceConfig stubs."""
    paths = {route.path for route in VENDOR_ROUTES["rudderstack"]}
    wanted = {"/v1/track", "/v1/identify", "/v1/alias", "/v1/group", "/v1/page", "/v1/batch",
              "/beacon/v1/batch", "/sourceConfig", "/sourceConfig/"}  # fmt: skip
    assert wanted <= paths
