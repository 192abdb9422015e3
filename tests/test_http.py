"""Tests for conformance.collector.http."""

from __future__ import annotations

import gzip
import http.client
import json
import logging
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import TYPE_CHECKING

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conformance._errors import ConformanceError
from conformance.collector.http import (
    HttpCollector,
    RemoteHostError,
    RequestRecord,
    run_forever,
)
from conformance.collector.store import Collector
from conformance.collector.wire import COLLECTOR_PATHS
from simulator import Event, Kind

if TYPE_CHECKING:
    from collections.abc import Iterator

# Loopback only: never let an environment proxy see collector traffic.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))

SEGMENT_BATCH = {
    "batch": [
        {
            "type": "identify",
            "userId": "u1",
            "anonymousId": "a1",
            "traits": {"email": "x@y"},
            "messageId": "m1",
            "timestamp": "2025-01-01T00:00:00.000+00:00",
        },
        {
            "type": "track",
            "event": "Signed Up",
            "userId": "u1",
            "properties": {"plan": "pro"},
            "messageId": "m2",
        },
    ],
    "writeKey": "WK",
}
EXPECTED = [
    Event(
        kind=Kind.IDENTIFY,
        user_id="u1",
        anonymous_id="a1",
        traits={"email": "x@y"},
        message_id="m1",
        timestamp=1735689600000,
    ),
    Event(
        kind=Kind.TRACK, name="Signed Up", user_id="u1", properties={"plan": "pro"}, message_id="m2"
    ),
]


def send(
    url: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    method: str = "POST",
) -> tuple[int, bytes]:
    """Send one request to the collector and return its status and body, errors included."""
    request = urllib.request.Request(  # noqa: S310 - always our own http:// loopback URL
        url + path, data=body if method != "GET" else None, headers=headers or {}, method=method
    )
    try:
        with OPENER.open(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read()


def post_json(url: str, path: str, payload: object, *, gzipped: bool = False) -> tuple[int, bytes]:
    """POST a JSON payload, gzipped on request."""
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    if gzipped:
        body = gzip.compress(body)
        headers["Content-Encoding"] = "gzip"
    return send(url, path, body, headers)


@pytest.fixture
def served() -> Iterator[tuple[Collector, HttpCollector, str]]:
    """Serve a fresh collector on an ephemeral loopback port for one test."""
    collector = Collector()
    with HttpCollector(collector) as http_collector:
        assert http_collector.url is not None
        yield collector, http_collector, http_collector.url


def test_posted_batch_arrives_in_the_collector(
    served: tuple[Collector, HttpCollector, str],
) -> None:
    """A Segment batch POSTed over loopback HTTP is decoded and lands in collector.drain()."""
    collector, _, url = served
    assert collector.url == url
    assert url.startswith("http://127.0.0.1:")
    assert post_json(url, "/v1/batch", SEGMENT_BATCH) == (200, b'{"success":true}')
    assert collector.drain() == EXPECTED


def test_gzip_body_is_accepted_over_http(served: tuple[Collector, HttpCollector, str]) -> None:
    """A gzipped body (RudderStack's default) is gunzipped by the front end."""
    collector, _, url = served
    assert post_json(url, "/v1/batch", SEGMENT_BATCH, gzipped=True)[0] == 200
    assert collector.drain() == EXPECTED


def test_snowplow_get_pixel_and_mixpanel_form_over_http(
    served: tuple[Collector, HttpCollector, str],
) -> None:
    """GET /i answers a GIF and a Mixpanel form POST answers {"status":1}."""
    collector, _, url = served
    query = urllib.parse.urlencode({"e": "pv", "url": "http://x/", "duid": "d1"})
    status, body = send(url, "/i?" + query, method="GET")
    assert (status, body[:6]) == (200, b"GIF89a")
    form = urllib.parse.urlencode(
        {"data": json.dumps({"event": "E", "properties": {"distinct_id": "u1", "token": "T"}})}
    ).encode()
    reply = send(url, "/track", form, {"Content-Type": "application/x-www-form-urlencoded"})
    assert reply == (200, b'{"status":1}')
    assert collector.drain() == [
        Event(kind=Kind.PAGE, name="http://x/", anonymous_id="d1"),
        Event(kind=Kind.TRACK, name="E", distinct_id="u1"),
    ]


_JSON = {"Content-Type": "application/json"}
_ONE_EVENT: dict[str, tuple[bytes, dict[str, str]]] = {
    "/v1/batch": (json.dumps(SEGMENT_BATCH).encode(), _JSON),
    "/batch/": (json.dumps({"api_key": "k", "batch": [{"event": "E", "distinct_id": "u1"}]}).encode(), _JSON),
    "/2/httpapi": (json.dumps({"api_key": "k", "events": [{"event_type": "E", "user_id": "u1"}]}).encode(), _JSON),
    "/track": (urllib.parse.urlencode({"data": json.dumps({"event": "E", "properties": {"distinct_id": "u1"}})})
               .encode(), {"Content-Type": "application/x-www-form-urlencoded"}),
}  # fmt: skip
"""One valid request per path (a request must decode before the outage can answer it)."""


@pytest.mark.parametrize(
    ("mount", "path", "shape"),
    [
        ("/segment", "/v1/batch", {"code": "service_unavailable"}),
        ("/rudderstack", "/v1/batch", None),
        ("/posthog", "/batch/", {"type": "server_error", "code": "service_unavailable", "attr": None}),
        ("/amplitude", "/2/httpapi", {"code": 503}),
        ("/mixpanel", "/track", {"status": 0}),
        ("", "/v1/batch", {}),
    ],
)
def test_an_outage_answers_in_the_vendor_s_own_error_shape(
    served: tuple[Collector, HttpCollector, str], mount: str, path: str, shape: dict[str, object] | None
) -> None:
    """Each vendor's mount words a 503 as its API does (SDKs parse these); unprefixed paths say ``error``.

    RudderStack's gateway answers plain text, which rudder-sdk-python falls back to; the
    reason is in the body whatever the shape.
    """
    collector, _, url = served
    collector.outage(["503"])
    status, body = send(url, mount + path, *_ONE_EVENT[path])
    assert status == 503
    text = body.decode()
    assert "outage" in text
    if shape is None:
        with pytest.raises(json.JSONDecodeError):
            json.loads(text)
        return
    reply = json.loads(text)
    assert shape.items() <= reply.items()
    reason_key = {"/segment": "message", "/posthog": "detail"}.get(mount, "error")
    assert "outage" in reply[reason_key]


def test_a_refused_request_is_worded_in_the_vendor_s_shape_too(served: tuple[Collector, HttpCollector, str]) -> None:
    """A malformed Mixpanel request gets Mixpanel's ``status: 0`` beside its reason (mixpanel-python reads it)."""
    _, _, url = served
    status, body = send(url, "/mixpanel/track", b"data=%7Bnot+json", {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 400
    reply = json.loads(body)
    assert reply["status"] == 0
    assert reply["error"]


def test_junk_gets_4xx_with_reason_and_server_keeps_serving(
    served: tuple[Collector, HttpCollector, str], caplog: pytest.LogCaptureFixture
) -> None:
    """Malformed requests get their 4xx and a JSON reason, are logged, and the server stays up."""
    collector, _, url = served
    with caplog.at_level(logging.WARNING, logger="conformance.collector"):
        status, body = send(url, "/v1/batch", b"{not json", {"Content-Type": "application/json"})
        assert status == 400
        assert "not valid JSON" in json.loads(body)["error"]
        assert send(url, "/nowhere", b"{}")[0] == 404
        assert send(url, "/v1/batch", b"junk", {"Content-Encoding": "gzip"})[0] == 400
    assert any("not valid JSON" in record.getMessage() for record in caplog.records)
    assert collector.drain() == []
    assert post_json(url, "/v1/batch", SEGMENT_BATCH)[0] == 200
    assert collector.drain() == EXPECTED


def test_armed_fault_answers_503_but_records_the_events(
    served: tuple[Collector, HttpCollector, str],
) -> None:
    """With fail_next(1) the request gets 503 yet its events are recorded (a lost ack)."""
    collector, _, url = served
    collector.fail_next(1)
    status, body = post_json(url, "/v1/batch", SEGMENT_BATCH)
    assert status == 503
    assert "fault injection" in json.loads(body)["error"]
    assert collector.drain() == EXPECTED
    assert post_json(url, "/v1/batch", SEGMENT_BATCH)[0] == 200
    assert collector.failed_deliveries == 1


def test_a_malformed_200_lost_ack_answers_a_proxy_page_and_records_the_events(
    served: tuple[Collector, HttpCollector, str],
) -> None:
    """fail_next(1, "malformed-200"): a 200 whose body is an HTML page, not the vendor's JSON reply."""
    collector, _, url = served
    collector.fail_next(1, "malformed-200")
    request = urllib.request.Request(  # noqa: S310  (loopback)
        url + "/v1/batch", data=json.dumps(SEGMENT_BATCH).encode(), headers={"Content-Type": "application/json"})
    with OPENER.open(request, timeout=10) as reply:
        assert reply.status == 200
        assert reply.headers["Content-Type"].startswith("text/html")
        body = reply.read().decode()
    assert body.startswith("<html>")
    with pytest.raises(json.JSONDecodeError):
        json.loads(body)
    assert collector.drain() == EXPECTED
    assert collector.failed_deliveries == 1


@pytest.mark.parametrize("arm", ["lost ack", "outage"])
def test_a_slow_fault_answers_only_after_the_client_stopped_waiting(
    served: tuple[Collector, HttpCollector, str], arm: str
) -> None:
    """A ``slow`` fault holds the answer for answer_after seconds: a client with a shorter timeout times out.

    As a lost ack the events are recorded (the vendor's 200 comes too late); in an outage
    nothing is.
    """
    collector, _, url = served
    if arm == "lost ack":
        collector.fail_next(1, "slow", answer_after=1.0)
    else:
        collector.outage(["slow"], answer_after=1.0)
    request = urllib.request.Request(  # noqa: S310  (loopback)
        url + "/v1/batch", data=json.dumps(SEGMENT_BATCH).encode(), headers={"Content-Type": "application/json"})
    with pytest.raises((TimeoutError, urllib.error.URLError)):
        OPENER.open(request, timeout=0.3)
    assert collector.drain() == (EXPECTED if arm == "lost ack" else [])
    assert post_json(url, "/v1/batch", SEGMENT_BATCH)[0] == 200  # one request held, the next answered
    assert collector.drain() == EXPECTED


def test_a_held_slow_answer_does_not_hold_up_stopping_the_collector() -> None:
    """stop() ends a ``slow`` fault's wait: the collector stops in well under its answer_after."""
    collector = Collector()
    http_collector = HttpCollector(collector)
    url = http_collector.start()
    collector.outage(["slow"], answer_after=60)
    answers: list[int] = []
    sender = threading.Thread(target=lambda: answers.append(post_json(url, "/v1/batch", SEGMENT_BATCH)[0]))
    sender.start()
    deadline = time.monotonic() + 10
    while not http_collector.requests and collector.failed_deliveries == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    started = time.monotonic()
    http_collector.stop()
    sender.join(10)
    assert time.monotonic() - started < 10
    assert not sender.is_alive()
    assert answers == [503]


def test_an_outage_answers_each_fault_in_turn_and_records_nothing(
    served: tuple[Collector, HttpCollector, str],
) -> None:
    """The next requests fail with the outage's faults in order, recording nothing; then it recovers.

    A 429 carries ``Retry-After: 1``; ``disconnect`` closes the connection with no answer.
    """
    collector, _, url = served
    collector.outage(["503", "429", "disconnect"])
    status, body = post_json(url, "/v1/batch", SEGMENT_BATCH)
    assert status == 503
    assert "outage" in json.loads(body)["error"]
    request = urllib.request.Request(  # noqa: S310  (loopback)
        url + "/v1/batch", data=json.dumps(SEGMENT_BATCH).encode(), headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        OPENER.open(request, timeout=10)
    assert (refused.value.code, refused.value.headers["Retry-After"]) == (429, "1")
    refused.value.close()
    with pytest.raises((http.client.RemoteDisconnected, ConnectionError, urllib.error.URLError)):
        post_json(url, "/v1/batch", SEGMENT_BATCH)
    assert collector.drain() == []
    assert post_json(url, "/v1/batch", SEGMENT_BATCH)[0] == 200
    assert collector.drain() == EXPECTED
    assert collector.recover() == 0


def test_declared_oversized_body_is_refused_before_reading(
    served: tuple[Collector, HttpCollector, str],
) -> None:
    """A Content-Length over the cap gets 413 without the body being read."""
    _, http_collector, url = served
    parsed = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
    try:
        connection.putrequest("POST", "/v1/batch")
        connection.putheader("Content-Length", str(http_collector.max_bytes + 1))
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 413
        assert "exceeds" in json.loads(response.read())["error"]
    finally:
        connection.close()


def test_actual_oversized_body_gets_413() -> None:
    """A body really larger than a small cap is answered 413, not a connection reset."""
    collector = Collector()
    with HttpCollector(collector, max_bytes=1024) as http_collector:
        assert http_collector.url is not None
        status, _ = send(http_collector.url, "/v1/batch", b" " * 200_000)
    assert status == 413
    assert collector.drain() == []


class _BrokenCollector(Collector):
    """A collector whose ingest fails in an unplanned way."""

    def ingest(self, events: list[Event]) -> None:
        """Fail with an error the front end does not expect."""
        msg = "disk on fire"
        raise RuntimeError(msg)


def test_unexpected_error_is_500_and_logged_and_server_survives(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An unexpected exception while handling a request becomes a logged 500, not a dead server."""
    with HttpCollector(_BrokenCollector()) as http_collector:
        assert http_collector.url is not None
        with caplog.at_level(logging.ERROR, logger="conformance.collector"):
            status, body = post_json(http_collector.url, "/v1/batch", SEGMENT_BATCH)
        assert status == 500
        assert "disk on fire" in json.loads(body)["error"]
        assert send(http_collector.url, "/nowhere")[0] == 404
    assert any(record.exc_info for record in caplog.records)


def test_request_records_describe_each_request(
    served: tuple[Collector, HttpCollector, str],
) -> None:
    """Every request leaves a RequestRecord with method, path, status, event count, size, reason."""
    _, http_collector, url = served
    body = json.dumps(SEGMENT_BATCH).encode()
    send(url, "/v1/batch", body, {"Content-Type": "application/json"})
    send(url, "/nowhere", b"xy")
    records = http_collector.requests
    assert records[0] == RequestRecord("POST", "/v1/batch", 200, 2, len(body), "")
    assert records[1].status == 404
    assert records[1].bytes == 2
    assert "'/nowhere'" in records[1].reason


def test_request_records_are_bounded(served: tuple[Collector, HttpCollector, str]) -> None:
    """Only the most recent 1000 request records are kept."""
    _, http_collector, url = served
    parsed = urllib.parse.urlsplit(url)
    for _ in range(1005):
        connection = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=10)
        try:
            connection.request("OPTIONS", "/v1/t")
            connection.getresponse().read()
        finally:
            connection.close()
    assert len(http_collector.requests) == 1000


@pytest.mark.parametrize("host", ["0.0.0.0", "192.0.2.1", "example.com", "::"])  # noqa: S104
def test_non_loopback_host_is_refused(host: str) -> None:
    """Binding anywhere but loopback raises a ConformanceError naming the host."""
    with pytest.raises(RemoteHostError, match=host) as info:
        HttpCollector(Collector(), host=host)
    assert isinstance(info.value, ConformanceError)
    assert isinstance(info.value, ValueError)


@pytest.mark.parametrize("host", ["127.0.0.1", "127.0.0.2", "::1", "localhost"])
def test_loopback_hosts_are_accepted(host: str) -> None:
    """Loopback addresses and localhost are accepted without allow_remote."""
    assert HttpCollector(Collector(), host=host).host == host


def test_allow_remote_lifts_the_refusal() -> None:
    """allow_remote=True permits a non-loopback host (not started here)."""
    assert HttpCollector(Collector(), host="0.0.0.0", allow_remote=True).allow_remote  # noqa: S104


def test_start_is_idempotent_and_stop_clears_the_url() -> None:
    """start() twice returns the same URL; stop() clears both URLs and is safe to repeat."""
    collector = Collector()
    http_collector = HttpCollector(collector)
    url = http_collector.start()
    try:
        assert http_collector.start() == url
        assert http_collector.running
    finally:
        http_collector.stop()
    http_collector.stop()
    assert (http_collector.url, collector.url, http_collector.running) == (None, None, False)


def test_run_forever_blocks_until_the_collector_stops() -> None:
    """run_forever serves in the calling thread and returns once the collector is stopped."""
    http_collector = HttpCollector(Collector())
    runner = threading.Thread(target=run_forever, args=(http_collector,), daemon=True)
    runner.start()
    deadline = time.monotonic() + 10
    while http_collector.url is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert http_collector.url is not None
    assert send(http_collector.url, "/v1/t", b'{"event": "e", "userId": "u"}')[0] == 200
    assert runner.is_alive()
    http_collector.stop()
    runner.join(timeout=10)
    assert not runner.is_alive()


@pytest.fixture(scope="module")
def shared() -> Iterator[tuple[Collector, HttpCollector, str]]:
    """Serve one collector for the whole Hypothesis run (examples share fixtures)."""
    collector = Collector()
    with HttpCollector(collector) as http_collector:
        assert http_collector.url is not None
        yield collector, http_collector, http_collector.url


@settings(deadline=None, max_examples=40, suppress_health_check=[HealthCheck.too_slow])
@given(
    path=st.sampled_from(sorted(COLLECTOR_PATHS)),
    body=st.binary(max_size=300),
    gzipped=st.booleans(),
)
def test_random_bodies_never_get_a_5xx(
    shared: tuple[Collector, HttpCollector, str], path: str, body: bytes, gzipped: bool
) -> None:
    """Random bytes on any path are answered below 500 and the server keeps answering."""
    collector, _, url = shared
    headers = {"Content-Encoding": "gzip"} if gzipped else {}
    status, _ = send(url, path, gzip.compress(body) if gzipped else body, headers)
    assert status < 500
    collector.drain()
