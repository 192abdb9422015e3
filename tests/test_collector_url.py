"""Tests for Collector.url_for / Collector.close and HttpCollector.url_for: collector URLs per vendor."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import urllib.error
import urllib.request
from typing import TYPE_CHECKING

import pytest

from conformance._errors import ConformanceError
from conformance.collector.http import CollectorNotRunningError, HttpCollector
from conformance.collector.store import Collector
from conformance.collector.wire import VENDORS, UnknownVendorError
from simulator import Event, Kind

if TYPE_CHECKING:
    from collections.abc import Iterator

# Loopback only: never let an environment proxy see collector traffic.
OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))
BATCH = b'{"batch": [{"type": "track", "event": "Bought", "userId": "u1", "messageId": "m1"}]}'
JSON = {"Content-Type": "application/json"}


def send(
    url: str, body: bytes | None = None, headers: dict[str, str] | None = None, method: str = "POST"
) -> tuple[int, bytes, dict[str, str]]:
    """Send one request and return its status, body and headers, errors included."""
    request = urllib.request.Request(  # noqa: S310 - always our own http:// loopback URL
        url, data=body, headers=headers or {}, method=method
    )
    try:
        with OPENER.open(request, timeout=10) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read(), dict(exc.headers)


def refuses_connections(url: str) -> bool:
    """Whether nothing listens at ``url`` any more."""
    try:
        send(url + "/v1/batch", BATCH, JSON)
    except urllib.error.URLError:
        return True
    return False


@pytest.fixture
def collector() -> Iterator[Collector]:
    """A fresh collector whose on-demand HTTP front end is closed after the test."""
    collector = Collector()
    yield collector
    collector.close()


@pytest.fixture
def served() -> Iterator[tuple[Collector, HttpCollector]]:
    """A collector served by an HttpCollector started explicitly, as the CLI does."""
    collector = Collector()
    with HttpCollector(collector) as http:
        yield collector, http


# --- HttpCollector.url_for --------------------------------------------------------------


@pytest.mark.parametrize("vendor", VENDORS)
def test_http_url_for_is_the_base_url_slash_vendor(
    served: tuple[Collector, HttpCollector], vendor: str
) -> None:
    """HttpCollector.url_for(vendor) is <base url>/<vendor> while it serves."""
    _, http = served
    assert http.url_for(vendor) == f"{http.url}/{vendor}"


def test_segment_and_rudderstack_urls_record_their_own_source_over_http(
    served: tuple[Collector, HttpCollector],
) -> None:
    """The same batch POSTed under each vendor URL arrives once each, with the prefixed source."""
    collector, http = served
    for vendor in ("segment", "rudderstack"):
        status, reply, _ = send(http.url_for(vendor) + "/v1/batch", BATCH, JSON)
        assert (status, reply) == (200, b'{"success":true}')
    events = collector.drain()
    expected = Event(kind=Kind.TRACK, name="Bought", user_id="u1", message_id="m1")
    assert events == [expected, expected]
    assert [event.source for event in events] == ["/segment/v1/batch", "/rudderstack/v1/batch"]


def test_unprefixed_path_still_served_over_http(served: tuple[Collector, HttpCollector]) -> None:
    """The base URL keeps serving the unprefixed paths exactly as before the mounts."""
    collector, http = served
    assert http.url is not None
    status, _, _ = send(http.url + "/v1/batch", BATCH, JSON)
    assert status == 200
    assert [event.source for event in collector.drain()] == ["/v1/batch"]


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/segment/v1/projects/WK/settings"),
        ("GET", "/rudderstack/sourceConfig/?p=npm&v=3.0.0&writeKey=WK"),
        ("POST", "/posthog/decide/?v=3"),
        ("POST", "/posthog/flags/?v=2"),
        ("GET", "/posthog/array/phc_key/config"),
        ("GET", "/mixpanel/decide?verbose=1"),
    ],
)
def test_stub_endpoints_answer_200_json_and_ingest_nothing_over_http(
    served: tuple[Collector, HttpCollector], method: str, path: str
) -> None:
    """A browser SDK's configuration request gets 200 JSON with CORS headers and records nothing."""
    collector, http = served
    assert http.url is not None
    body = b'{"token": "phc_key", "distinct_id": "d1"}' if method == "POST" else None
    status, reply, headers = send(http.url + path, body, JSON if body else {}, method)
    assert status == 200
    assert headers["Content-Type"].startswith("application/json")
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert isinstance(json.loads(reply), dict)
    assert collector.pending() == 0
    assert collector.deliveries == 0
    assert http.requests[-1].events == 0
    assert http.requests[-1].status == 200


def test_http_url_for_refuses_an_unknown_vendor(served: tuple[Collector, HttpCollector]) -> None:
    """HttpCollector.url_for with an unknown vendor raises UnknownVendorError with a suggestion."""
    _, http = served
    with pytest.raises(UnknownVendorError, match=r"'PostHog' of type str.*Did you mean 'posthog'"):
        http.url_for("PostHog")


def test_http_url_for_refuses_a_non_string_vendor(served: tuple[Collector, HttpCollector]) -> None:
    """A vendor that is not a string is named with its type, a ValueError and ConformanceError."""
    _, http = served
    with pytest.raises(UnknownVendorError, match="None of type NoneType") as info:
        http.url_for(None)  # type: ignore[arg-type]
    assert isinstance(info.value, ValueError)
    assert isinstance(info.value, ConformanceError)


def test_http_url_for_when_not_serving_says_to_start() -> None:
    """HttpCollector.url_for before start() raises CollectorNotRunningError naming the fix."""
    http = HttpCollector(Collector())
    with pytest.raises(CollectorNotRunningError, match=r"call start\(\)") as info:
        http.url_for("segment")
    assert isinstance(info.value, RuntimeError)
    assert isinstance(info.value, ConformanceError)


# --- Collector.url_for and close ----------------------------------------------------------


def test_store_imports_no_http_server() -> None:
    """Importing the store loads neither the HTTP front end nor werkzeug (they load on demand)."""
    code = (
        "import sys, conformance.collector.store\n"
        "loaded = {'werkzeug', 'conformance.collector.http'} & set(sys.modules)\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


def test_url_for_starts_a_loopback_front_end_once(collector: Collector) -> None:
    """The first url_for() starts an HTTP front end on 127.0.0.1 and sets url; later calls reuse it."""
    assert collector.url is None
    base = collector.url_for()
    assert base.startswith("http://127.0.0.1:")
    assert collector.url == base
    assert collector.url_for() == base
    assert collector.url_for("posthog") == base + "/posthog"


def test_url_for_vendor_receives_that_vendors_events(collector: Collector) -> None:
    """An SDK pointed at url_for(vendor) delivers into the collector, decoded as that vendor."""
    status, _, _ = send(collector.url_for("rudderstack") + "/v1/batch", BATCH, JSON)
    assert status == 200
    (event,) = collector.drain()
    assert (event.kind, event.name, event.source) == (Kind.TRACK, "Bought", "/rudderstack/v1/batch")


def test_close_stops_the_front_end_and_clears_url(collector: Collector) -> None:
    """close() stops the front end url_for started, clears url, and is safe to call twice."""
    base = collector.url_for()
    collector.close()
    assert collector.url is None
    assert refuses_connections(base)
    collector.close()
    assert collector.url is None


def test_close_without_a_front_end_is_a_no_op() -> None:
    """close() on a collector that never started a front end does nothing."""
    collector = Collector(url="http://127.0.0.1:9")
    collector.close()
    collector.close()
    assert collector.url == "http://127.0.0.1:9"


def test_url_for_after_close_starts_a_new_front_end(collector: Collector) -> None:
    """A url_for() after close() starts a fresh front end that serves."""
    collector.url_for()
    collector.close()
    base = collector.url_for()
    assert send(base + "/v1/batch", BATCH, JSON)[0] == 200
    assert len(collector.drain()) == 1


def test_url_for_reuses_a_front_end_someone_else_started(
    served: tuple[Collector, HttpCollector],
) -> None:
    """With url already set, url_for() starts nothing and close() leaves that front end serving."""
    collector, http = served
    assert collector.url_for() == http.url
    assert collector.url_for("snowplow") == f"{http.url}/snowplow"
    collector.close()
    assert http.running
    assert collector.url == http.url


def test_url_for_an_unknown_vendor_starts_nothing() -> None:
    """url_for('nope') raises UnknownVendorError before any front end starts."""
    collector = Collector()
    with pytest.raises(UnknownVendorError, match=r"'segmant' of type str.*Did you mean 'segment'"):
        collector.url_for("segmant")
    assert collector.url is None


def test_url_for_from_many_threads_starts_one_front_end(
    collector: Collector, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Concurrent first calls to url_for() from many threads start one front end and agree on it."""
    starts: list[str] = []
    original = HttpCollector.start

    def counted(self: HttpCollector) -> str:
        url = original(self)
        starts.append(url)
        return url

    monkeypatch.setattr(HttpCollector, "start", counted)
    barrier = threading.Barrier(8)
    urls: list[str] = []

    def ask() -> None:
        barrier.wait()
        urls.append(collector.url_for("mixpanel"))

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(starts) == 1
    assert urls == [starts[0] + "/mixpanel"] * 8


def test_collector_stays_an_attrs_class_with_the_same_init() -> None:
    """Collector keeps its attrs init and repr; the front end it owns is in neither."""
    import inspect

    import attrs

    assert attrs.has(Collector)
    assert list(inspect.signature(Collector).parameters) == [
        "url",
        "received",
        "fail_next",
        "lock",
        "deliveries",
        "failed_deliveries",
    ]
    collector = Collector()
    collector.url_for()
    try:
        assert "HttpCollector" not in repr(collector)
    finally:
        collector.close()
