"""Tests for conformance.collector.http and conformance.collector.wire under hostile input.

Every test ends by checking that the collector still answers a valid Segment batch with
200 and records it: no hostile request may take the server down or poison what follows.
"""

from __future__ import annotations

import base64
import gzip
import json
import logging
import socket
import time
import urllib.parse
from typing import TYPE_CHECKING

import pytest

from conformance._errors import ConformanceError
from conformance.collector.http import READ_TIMEOUT_SECONDS, HttpCollector
from conformance.collector.store import Collector
from conformance.collector.wire import MAX_BODY_BYTES
from simulator import Event, Kind

if TYPE_CHECKING:
    from collections.abc import Iterator

HANG_GUARD = 10.0  # seconds; generous, only so a regression fails instead of hanging
VALID_BATCH = b'{"batch": [{"type": "track", "event": "ok", "userId": "u1"}]}'
VALID_EVENTS = [Event(kind=Kind.TRACK, name="ok", user_id="u1")]
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
TP2 = "/com.snowplowanalytics.snowplow/tp2"
SURROGATE_EVENT = b'{"batch":[{"type":"track","event":"\\ud800"}]}'


@pytest.fixture
def served() -> Iterator[tuple[Collector, HttpCollector]]:
    """Serve a fresh collector on an ephemeral loopback port for one test."""
    collector = Collector()
    with HttpCollector(collector) as http_collector:
        yield collector, http_collector


def port_of(http_collector: HttpCollector) -> int:
    """The loopback port the collector listens on."""
    assert http_collector.url is not None
    port = urllib.parse.urlsplit(http_collector.url).port
    assert port is not None
    return port


def exchange(port: int, data: bytes, *, timeout: float = HANG_GUARD) -> bytes:
    """Send raw bytes to the collector and read until it closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as conn:
        conn.sendall(data)
        chunks = []
        while chunk := conn.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def request_bytes(
    path: str,
    body: bytes,
    content_type: str = JSON,
    *,
    method: str = "POST",
    extra: str = "",
) -> bytes:
    """An HTTP/1.1 request with a Content-Length, built by hand."""
    head = (
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {content_type}\r\n"
        f"{extra}Content-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


def parse_reply(raw: bytes) -> tuple[int, bytes]:
    """Status code and body of one raw HTTP response."""
    head, _, body = raw.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), body


def post(
    http_collector: HttpCollector,
    path: str,
    body: bytes,
    content_type: str = JSON,
    *,
    method: str = "POST",
    extra: str = "",
) -> tuple[int, bytes]:
    """Send one request over a fresh connection and return its status and body."""
    raw = exchange(
        port_of(http_collector),
        request_bytes(path, body, content_type, method=method, extra=extra),
    )
    return parse_reply(raw)


def error_of(body: bytes) -> str:
    """The one-line ``error`` of a JSON rejection."""
    reason = json.loads(body)["error"]
    assert isinstance(reason, str)
    assert "\n" not in reason
    assert "Traceback" not in reason
    return reason


def assert_still_serving(collector: Collector, http_collector: HttpCollector) -> None:
    """A valid Segment batch is still answered 200 and recorded, and nothing else was."""
    assert collector.drain() == []
    assert post(http_collector, "/v1/batch", VALID_BATCH) == (200, b'{"success":true}')
    assert collector.drain() == VALID_EVENTS


def b64(doc: bytes) -> str:
    """Standard base64 text of ``doc``."""
    return base64.b64encode(doc).decode()


def form(**fields: str) -> bytes:
    """A form-urlencoded body."""
    return urllib.parse.urlencode(fields).encode()


def ue(inner: bytes) -> bytes:
    """A Snowplow unstruct envelope whose inner data is the JSON fragment ``inner``."""
    return b'{"data": {"schema": "iglu:a/b/jsonschema/1-0-0", "data": {"x": ' + inner + b"}}}"


# --- 1. strict JSON ------------------------------------------------------------------


def test_lone_surrogate_in_event_name_is_refused_with_400_naming_the_field(
    served: tuple[Collector, HttpCollector],
) -> None:
    """A lone surrogate in an event name is refused with 400 naming the field; nothing lands."""
    collector, http_collector = served
    status, body = post(http_collector, "/v1/batch", SURROGATE_EVENT)
    assert status == 400
    reason = error_of(body)
    assert "batch[0].event" in reason
    assert "surrogate" in reason
    assert "'\\ud800'" in reason
    assert http_collector.requests[-1].events == 0
    reason.encode("utf-8")  # the reason itself is printable
    assert_still_serving(collector, http_collector)


NON_STRICT = [
    pytest.param(
        "/v1/batch", JSON, b'{"batch":[{"type":"track","\\udfff":1}]}', "batch[0]", id="key"
    ),
    pytest.param(
        "/v1/batch",
        JSON,
        b'{"batch":[{"type":"track","event":"e","properties":{"a":[{"b":"x\\udbff"}]}}]}',
        "batch[0].properties.a[0].b",
        id="nested",
    ),
    pytest.param(
        "/v1/batch",
        JSON,
        b'{"batch":[{"type":"track","event":"e","properties":{"p":"\xed\xa0\x80"}}]}',
        "batch[0].properties.p",
        id="raw-utf8-surrogate",
    ),
    pytest.param("/v1/t", JSON, b'{"event":"e","properties":{"n":NaN}}', "properties.n", id="nan"),
    pytest.param("/v1/t", JSON, b'{"event":"e","properties":{"n":Infinity}}', "Infinity", id="inf"),
    pytest.param(
        "/v1/t", JSON, b'{"event":"e","properties":{"n":-Infinity}}', "-Infinity", id="-inf"
    ),
    pytest.param(
        "/v1/t", JSON, b'{"event":"e","properties":{"n":1e400}}', "properties.n", id="overflow"
    ),
    pytest.param(
        "/batch/",
        JSON,
        b'{"batch":[{"event":"\\ud800","distinct_id":"d"}]}',
        "batch[0]",
        id="posthog",
    ),
    pytest.param(
        "/e/",
        JSON,
        b'[{"event":"e","distinct_id":"d","properties":{"v":NaN}}]',
        "[0]",
        id="posthog-list",
    ),
    pytest.param(
        "/2/httpapi",
        JSON,
        b'{"events":[{"event_type":"\\ud800","user_id":"u"}]}',
        "events[0].event_type",
        id="amplitude",
    ),
    pytest.param(
        "/track",
        JSON,
        b'[{"event":"e","properties":{"distinct_id":"\\ud800"}}]',
        "[0]",
        id="mixpanel-json",
    ),
    pytest.param(
        "/track",
        FORM,
        form(data='{"event":"e","properties":{"distinct_id":"\\ud800"}}'),
        "data.properties.distinct_id",
        id="mixpanel-form",
    ),
    pytest.param(
        "/track",
        FORM,
        form(data=b64(b'{"event":"e","properties":{"distinct_id":"\\ud800"}}')),
        "properties.distinct_id",
        id="mixpanel-form-base64",
    ),
    pytest.param(
        "/engage",
        FORM,
        form(data=b64(b'{"$distinct_id":"d","$set":{"n":Infinity}}')),
        "$set.n",
        id="mixpanel-engage-base64-inf",
    ),
    pytest.param(
        TP2, JSON, b'{"data":[{"e":"se","se_ac":"\\ud800"}]}', "data[0].se_ac", id="snowplow"
    ),
    pytest.param(
        TP2,
        JSON,
        json.dumps({"data": [{"e": "ue", "ue_pr": ue(b'"\\ud800"').decode()}]}).encode(),
        "data.data.x",
        id="snowplow-ue_pr",
    ),
    pytest.param(
        TP2,
        JSON,
        json.dumps({"data": [{"e": "ue", "ue_px": b64(ue(b"NaN"))}]}).encode(),
        "data.data.x",
        id="snowplow-ue_px",
    ),
    pytest.param(
        TP2, JSON, b'{"data":[{"e":"se","se_ac":"a","se_va":"NaN"}]}', "se_va", id="snowplow-se_va"
    ),
]


@pytest.mark.parametrize(("path", "content_type", "body", "where"), NON_STRICT)
def test_non_strict_json_is_refused_with_400_on_every_vendor_path(
    served: tuple[Collector, HttpCollector], path: str, content_type: str, body: bytes, where: str
) -> None:
    """Lone surrogates and NaN/Infinity/overflowing numbers get 400 naming where, on any path."""
    collector, http_collector = served
    status, reply = post(http_collector, path, body, content_type)
    assert status == 400
    assert where in error_of(reply)
    assert_still_serving(collector, http_collector)


@pytest.mark.parametrize(
    "query",
    [
        "data=" + urllib.parse.quote(b64(b'{"event":"e","properties":{"distinct_id":"\\ud800"}}')),
        "e=ue&ue_px=" + urllib.parse.quote(b64(ue(b"-Infinity"))),
    ],
    ids=["mixpanel-get", "snowplow-get"],
)
def test_non_strict_json_in_a_get_query_is_refused_with_400(
    served: tuple[Collector, HttpCollector], query: str
) -> None:
    """JSON carried in a GET query (Mixpanel data=, Snowplow ue_px) is read strictly too."""
    collector, http_collector = served
    path = "/track" if query.startswith("data=") else "/i"
    status, reply = post(http_collector, f"{path}?{query}", b"", method="GET")
    assert status == 400
    assert "surrogate" in error_of(reply) or "Infinity" in error_of(reply)
    assert_still_serving(collector, http_collector)


# --- 2. gzip -------------------------------------------------------------------------


def test_five_mib_of_empty_gzip_members_is_refused_promptly(
    served: tuple[Collector, HttpCollector],
) -> None:
    """A 5 MiB body of empty gzip members gets a 400 about members, not minutes of CPU."""
    collector, http_collector = served
    member = gzip.compress(b"", mtime=0)
    body = member * (MAX_BODY_BYTES // len(member))
    assert len(body) <= MAX_BODY_BYTES
    status, reply = post(http_collector, "/v1/batch", body, extra="Content-Encoding: gzip\r\n")
    assert status == 400
    assert "members" in error_of(reply)
    assert_still_serving(collector, http_collector)


def test_gzip_bomb_spread_over_members_is_413(served: tuple[Collector, HttpCollector]) -> None:
    """Members that together inflate past the cap get 413, however small each one is."""
    collector, http_collector = served
    member = gzip.compress(bytes(1 << 20), mtime=0)  # 1 MiB of zeros, about 1 KiB on the wire
    body = member * 6
    status, reply = post(http_collector, "/v1/batch", body, extra="Content-Encoding: gzip\r\n")
    assert status == 413
    assert "inflates to more than" in error_of(reply)
    assert_still_serving(collector, http_collector)


# --- 3. chunked bodies ---------------------------------------------------------------


@pytest.mark.parametrize(
    "chunks",
    [b"zz\r\nabc\r\n0\r\n\r\n", b"3\r\nabcXY0\r\n\r\n", b"-5\r\nabc\r\n0\r\n\r\n"],
    ids=["bad-size", "missing-terminator", "negative-size"],
)
def test_malformed_chunked_body_is_400_with_one_line_reason_and_no_traceback(
    served: tuple[Collector, HttpCollector], caplog: pytest.LogCaptureFixture, chunks: bytes
) -> None:
    """A bad chunk size gets 400 with a one-line reason; neither reply nor log has a traceback."""
    collector, http_collector = served
    head = b"POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
    with caplog.at_level(logging.WARNING):
        status, reply = parse_reply(exchange(port_of(http_collector), head + chunks))
    assert status == 400
    assert "chunked" in error_of(reply)
    for record in caplog.records:
        assert record.exc_info is None
        assert "Traceback" not in record.getMessage()
    assert_still_serving(collector, http_collector)


# --- 4. slow clients -----------------------------------------------------------------


@pytest.mark.parametrize(
    "partial",
    [
        b"POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Ty",
        b"POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 60\r\n\r\n" + b'{"batch"',
    ],
    ids=["half-headers", "half-body"],
)
def test_stalled_client_is_disconnected_while_others_are_served(partial: bytes) -> None:
    """A client that stalls mid-request is disconnected after read_timeout; others still get 200."""
    collector = Collector()
    with HttpCollector(collector, read_timeout=0.5) as http_collector:
        port = port_of(http_collector)
        with socket.create_connection(("127.0.0.1", port), timeout=HANG_GUARD) as stalled:
            stalled.sendall(partial)
            started = time.monotonic()
            assert_still_serving(collector, http_collector)
            rest = b""
            while chunk := stalled.recv(65536):  # returns b"" once the server closes
                rest += chunk
            assert time.monotonic() - started < HANG_GUARD
        if rest:
            assert parse_reply(rest)[0] == 408
        assert_still_serving(collector, http_collector)


def test_read_timeout_has_a_default_and_is_validated() -> None:
    """read_timeout defaults to a few seconds; a non-positive or non-number one is refused."""
    assert HttpCollector(Collector()).read_timeout == READ_TIMEOUT_SECONDS
    assert 0 < READ_TIMEOUT_SECONDS <= 30
    for bad in (0, -1.0, float("nan"), float("inf"), "5", True):
        with pytest.raises(ConformanceError, match="read_timeout") as info:
            HttpCollector(Collector(), read_timeout=bad)  # type: ignore[arg-type]
        assert isinstance(info.value, ValueError)


# --- 5. control characters in the log ------------------------------------------------


def test_control_characters_in_the_path_are_escaped_in_the_log(
    served: tuple[Collector, HttpCollector], caplog: pytest.LogCaptureFixture
) -> None:
    r"""ESC and other control bytes in a request path are logged escaped (\x1b), never raw."""
    collector, http_collector = served
    with caplog.at_level(logging.INFO):
        status, reply = post(http_collector, "/nowhere\x1b[2J\x1b]0;owned\x07\x7f", b"{}")
    assert status == 404
    assert "\x1b" not in error_of(reply)
    messages = [record.getMessage() for record in caplog.records]
    assert any("/nowhere\\x1b[2J\\x1b]0;owned\\x07\\x7f" in message for message in messages)
    for message in messages:
        assert not any(ord(char) < 0x20 or 0x7F <= ord(char) < 0xA0 for char in message), message
    assert_still_serving(collector, http_collector)


# --- 6. secrets ----------------------------------------------------------------------

SECRETS = [
    pytest.param(
        "/v1/batch",
        JSON,
        b'{"writeKey": "sk_live_SECRET123", "batch": [{"type": "track",',
        "sk_live_SECRET123",
        id="segment-bad-json",
    ),
    pytest.param(
        "/v1/batch",
        JSON,
        b'{"batch": {"writeKey": "sk_live_SECRET123", "type": "track"}}',
        "sk_live_SECRET123",
        id="segment-batch-object",
    ),
    pytest.param(
        "/batch/",
        JSON,
        b'{"api_key": "phc_SECRET", "batch": [{"event": "e", "distinct_id": ',
        "phc_SECRET",
        id="posthog-bad-json",
    ),
    pytest.param(
        "/batch/",
        JSON,
        b'{"batch": {"api_key": "phc_SECRET", "event": "e"}}',
        "phc_SECRET",
        id="posthog-batch-object",
    ),
    pytest.param("/batch/?api_key=phc_SECRET&x=%ff", JSON, b"{}", "phc_SECRET", id="posthog-query"),
    pytest.param("/track", FORM, b"token=mp_SECRET&verbose=1", "mp_SECRET", id="mixpanel-form"),
    pytest.param(
        "/track",
        FORM,
        form(data=b64(b'{"properties": {"$token": "mp_SECRET"}, "event": ')),
        "mp_SECRET",
        id="mixpanel-base64",
    ),
]


@pytest.mark.parametrize(("path", "content_type", "body", "secret"), SECRETS)
def test_secrets_in_a_rejected_body_never_reach_the_reply_or_the_log(
    served: tuple[Collector, HttpCollector],
    caplog: pytest.LogCaptureFixture,
    path: str,
    content_type: str,
    body: bytes,
    secret: str,
) -> None:
    """Write keys, API keys and tokens in a rejected body are redacted from reply, log, records."""
    collector, http_collector = served
    with caplog.at_level(logging.INFO):
        status, reply = post(http_collector, path, body, content_type)
    assert status == 400
    reason = error_of(reply)
    assert "<redacted>" in reason
    assert secret.encode() not in reply
    assert all(secret not in record.getMessage() for record in caplog.records)
    assert secret not in http_collector.requests[-1].reason
    assert_still_serving(collector, http_collector)


# --- 7. anything unexpected ----------------------------------------------------------


class _FailsOnceCollector(Collector):
    """A collector whose first ingest fails with a multi-line, secret-bearing message."""

    failed = False

    def ingest(self, events: list[Event]) -> None:
        """Fail the first time, then record as usual."""
        if not self.failed:
            self.failed = True
            msg = 'boom "token": "tok_SECRET"\x1b[0m\nTraceback (most recent call last):'
            raise RuntimeError(msg)
        super().ingest(events)


def test_unexpected_error_is_a_one_line_500_and_the_server_keeps_serving(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An unplanned exception answers 500 with one redacted line, and the next request is 200."""
    collector = _FailsOnceCollector()
    with HttpCollector(collector) as http_collector:
        with caplog.at_level(logging.ERROR, logger="conformance.collector"):
            status, reply = post(http_collector, "/v1/batch", VALID_BATCH)
        assert status == 500
        reason = error_of(reply)
        assert reason == (
            'internal collector error: RuntimeError: boom "token": "<redacted>"\\x1b[0m'
        )
        assert any(record.exc_info for record in caplog.records)  # our bug: keep the traceback
        assert_still_serving(collector, http_collector)


def test_body_cut_short_inside_a_chunk_is_400(served: tuple[Collector, HttpCollector]) -> None:
    """A chunked body whose client stops mid-chunk gets 400, not an internal error."""
    collector, http_collector = served
    request = (
        b"POST /v1/batch HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"ff\r\n" + VALID_BATCH
    )
    with socket.create_connection(("127.0.0.1", port_of(http_collector)), timeout=HANG_GUARD) as c:
        c.sendall(request)
        c.shutdown(socket.SHUT_WR)
        raw = b""
        while chunk := c.recv(65536):
            raw += chunk
    status, reply = parse_reply(raw)
    assert status == 400
    error_of(reply)
    assert_still_serving(collector, http_collector)


def test_a_port_in_use_raises_collector_bind_error_instead_of_exiting() -> None:
    """Starting on a port another socket holds raises CollectorBindError; the process goes on."""
    from conformance.collector.http import CollectorBindError

    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        http = HttpCollector(Collector(), port=port)
        with pytest.raises(CollectorBindError, match="in use"):
            http.start()
