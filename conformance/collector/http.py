"""The loopback HTTP front end: real SDKs deliver here and the collector records what arrived.

A werkzeug development server runs in a daemon thread on ``127.0.0.1`` (an ephemeral port
by default). Each request is decoded by :func:`conformance.collector.wire.decode_request` and the
events go to :meth:`Collector.ingest`. The server never crashes on a request: malformed
input gets the :class:`WireError` status (a body that cannot be read, such as a malformed
chunked body, is a 400), an armed fault gets 503 (after the events were recorded: a lost
acknowledgement), an outage fault its status or a closed connection (recording nothing),
anything unexpected gets 500, and every reason is logged on the
``conformance.collector`` logger. Reasons are one line, never a traceback; log lines
escape control characters, so a hostile path cannot drive the terminal; and a client
that stalls is disconnected after ``read_timeout`` seconds of silence.

Each vendor's wire format is mounted under its name: :meth:`HttpCollector.url_for` gives
``<base url>/<vendor>``, where only that vendor's routes (and the configuration stubs its
browser SDK fetches) are served; the base URL keeps serving the unprefixed paths.
"""

from __future__ import annotations

import collections
import contextlib
import ipaddress
import logging
import math
import socket
import threading
import time
from typing import TYPE_CHECKING, Final

import attrs
from werkzeug.exceptions import HTTPException
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from conformance._errors import (
    CollectorOutageError,
    ConformanceError,
    DeliveryFailedError,
    InvalidInputError,
    LostAckError,
)
from conformance.collector.wire import (
    MAX_BODY_BYTES,
    WireError,
    check_vendor,
    decode_request,
    error_reply,
    redact_secrets,
    vendor_url,
)

if TYPE_CHECKING:
    from collections.abc import Iterable
    from types import TracebackType

    from _typeshed.wsgi import StartResponse, WSGIEnvironment
    from typing_extensions import Self

    from conformance.collector.store import Collector

logger = logging.getLogger("conformance.collector")

_RECORDS_KEPT: Final = 1000
_POLL_SECONDS: Final = 0.05
READ_TIMEOUT_SECONDS: Final = 5.0
"""Default for :attr:`HttpCollector.read_timeout`: SDKs on loopback never pause this long."""
_REASON_MAX_CHARS: Final = 1000
# Control characters (C0, DEL, C1) as \xNN; paths in log lines also escape the backslash
# (as werkzeug's access log does), reasons do not (their reprs already escape).
_CONTROL_CHARS: Final = {c: f"\\x{c:02x}" for c in [*range(0x20), *range(0x7F, 0xA0)]}
_PATH_CHARS: Final = str.maketrans({**_CONTROL_CHARS, ord("\\"): "\\\\"})
_REASON_CHARS_TABLE: Final = str.maketrans(_CONTROL_CHARS)
_CORS_HEADERS: Final = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Headers": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
}


class RemoteHostError(ConformanceError, ValueError):
    """The collector was asked to listen on a non-loopback address without ``allow_remote``."""


class CollectorBindError(ConformanceError, OSError):
    """The collector could not listen on the requested host and port."""


class CollectorNotRunningError(ConformanceError, RuntimeError):
    """A URL was asked of an :class:`HttpCollector` that is not serving."""


@attrs.frozen
class RequestRecord:
    """What one HTTP request to the collector was and how it was answered."""

    method: str
    path: str
    status: int
    events: int
    """How many canonical events the request decoded to (0 when it was rejected)."""
    bytes: int
    """Body size as received, before any gunzip."""
    reason: str
    """Empty on success; the error message otherwise."""


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@attrs.define
class HttpCollector:
    """Serve a :class:`Collector` over HTTP on a loopback port, in a background thread.

    ``with HttpCollector(collector) as http:`` starts it and sets ``collector.url``; the
    block's end stops it. ``port=0`` picks a free port. Binding to anything but a loopback
    address is refused unless ``allow_remote=True``.
    """

    collector: Collector
    host: str = "127.0.0.1"
    port: int = 0
    allow_remote: bool = False
    max_bytes: int = MAX_BODY_BYTES
    read_timeout: float = READ_TIMEOUT_SECONDS
    """Seconds a connection may stay silent (mid-headers, mid-body or idle) before it is closed."""
    _server: BaseWSGIServer | None = attrs.field(default=None, init=False)
    _thread: threading.Thread | None = attrs.field(default=None, init=False)
    _url: str | None = attrs.field(default=None, init=False)
    _records: collections.deque[RequestRecord] = attrs.field(
        factory=lambda: collections.deque(maxlen=_RECORDS_KEPT), init=False
    )
    _lock: threading.Lock = attrs.field(factory=threading.Lock, init=False)
    _stopping: threading.Event = attrs.field(factory=threading.Event, init=False)
    """Set by :meth:`stop`: a request held by a ``slow`` fault answers at once."""

    def __attrs_post_init__(self) -> None:
        """Refuse a non-loopback host before anything is bound."""
        if not self.allow_remote and not _is_loopback(self.host):
            msg = (
                f"refusing to serve the collector on non-loopback host {self.host!r}: SDK "
                f"traffic would be reachable from the network. Use host='127.0.0.1', or pass "
                f"allow_remote=True if you really mean it."
            )
            raise RemoteHostError(msg, self.host)
        timeout = self.read_timeout
        if type(timeout) not in {int, float} or not 0 < timeout < math.inf:
            msg = (
                f"read_timeout must be a positive number of seconds (got {timeout!r} of type "
                f"{type(timeout).__name__}); the default is {READ_TIMEOUT_SECONDS}"
            )
            raise InvalidInputError(msg, timeout)

    @property
    def url(self) -> str | None:
        """Base URL (``http://127.0.0.1:PORT``) while running, else ``None``."""
        return self._url

    def url_for(self, vendor: str) -> str:
        """``<base url>/<vendor>``: where only ``vendor``'s wire format is decoded.

        ``vendor`` is one of :data:`conformance.collector.wire.VENDORS`; an SDK pointed here
        is decoded by its vendor's routes alone, and its configuration stubs answer too.
        Raise :class:`~conformance.collector.wire.UnknownVendorError` for another name, and
        :class:`CollectorNotRunningError` when the server is not running.
        """
        check_vendor(vendor)
        url = self._url
        if url is None:
            msg = (
                f"the collector is not serving, so it has no URL for {vendor!r}; call start() "
                f"(or use `with HttpCollector(collector) as http:`) first"
            )
            raise CollectorNotRunningError(msg)
        return vendor_url(url, vendor)

    @property
    def running(self) -> bool:
        """Whether the server thread is serving."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    @property
    def requests(self) -> tuple[RequestRecord, ...]:
        """The most recent requests (at most 1000), oldest first; a snapshot."""
        with self._lock:
            return tuple(self._records)

    def start(self) -> str:
        """Bind, serve in a daemon thread, set ``collector.url`` and return the base URL.

        Calling it again while running returns the same URL.
        """
        if self._url is not None:
            return self._url
        logging.getLogger("werkzeug").setLevel(logging.WARNING)

        class _Handler(WSGIRequestHandler):
            timeout = float(self.read_timeout)  # socketserver applies it to each connection

        try:
            server = make_server(
                self.host, self.port, self._wsgi, threaded=True, request_handler=_Handler
            )
        except OSError as exc:
            msg = f"cannot serve the collector on {self.host!r} port {self.port}: {exc}"
            raise CollectorBindError(msg) from exc
        except SystemExit as exc:  # werkzeug prints "port in use" and exits instead of raising
            msg = (f"cannot serve the collector on {self.host!r} port {self.port}: the port is "
                   "in use. Pass another port, or 0 for any free one.")  # fmt: skip
            raise CollectorBindError(msg) from exc
        thread = threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": _POLL_SECONDS},
            name=f"conformance-collector-{server.server_port}",
            daemon=True,
        )
        thread.start()
        shown_host = f"[{self.host}]" if ":" in self.host else self.host
        self._server, self._thread = server, thread
        self._stopping.clear()
        self._url = f"http://{shown_host}:{server.server_port}"
        self.collector.url = self._url
        return self._url

    def stop(self) -> None:
        """Stop serving, close the socket and clear ``collector.url``; safe to call twice."""
        server, thread = self._server, self._thread
        self._server = self._thread = self._url = None
        if server is None:
            return
        self._stopping.set()
        server.shutdown()
        if thread is not None:
            thread.join()
        server.server_close()
        self.collector.url = None

    def __enter__(self) -> Self:
        """Start serving."""
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Stop serving."""
        self.stop()

    def _wsgi(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        response = self._respond(Request(environ))
        response.headers.update(_CORS_HEADERS)
        return response(environ, start_response)

    def _respond(self, request: Request) -> Response:
        method, path = request.method, request.path
        size = events = 0
        reason = ""
        try:
            length = request.content_length
            if length is not None and length > self.max_bytes:
                msg = f"Content-Length {length} exceeds the collector's limit of {self.max_bytes}"
                raise WireError(msg, 413)  # noqa: TRY301 - one handler for every rejection
            body = self._read_body(request)
            size = len(body)
            decoded = decode_request(
                method,
                path,
                dict(request.headers),
                body,
                request.query_string.decode("utf-8", "replace"),
                max_bytes=self.max_bytes,
            )
            events = len(decoded.events)
            if decoded.events:
                self.collector.ingest(list(decoded.events))
            response = Response(
                decoded.reply, status=decoded.status, content_type=decoded.content_type
            )
        except WireError as exc:
            reason = _one_line(exc.reason)
            logger.warning(
                "rejected %s %s with %d: %s", _escaped(method), _escaped(path), exc.status, reason
            )
            response = _error_response(exc.status, reason, path)
        except CollectorOutageError as exc:
            reason = _one_line(str(exc))
            logger.info("answered %s %s with %s: %s", _escaped(method), _escaped(path), exc.fault, reason)
            response = self._outage_response(exc.fault, reason, request)
        except DeliveryFailedError as exc:
            reason = _one_line(str(exc))
            fault = exc.fault if isinstance(exc, LostAckError) else "503"
            logger.info("answered %s %s with %s after recording it: %s",
                        _escaped(method), _escaped(path), fault, reason)  # fmt: skip
            if fault == "malformed-200":
                response = Response(_PROXY_PAGE, status=200, content_type="text/html; charset=utf-8")
            elif fault == "slow":  # the vendor's own reply, once the SDK has stopped waiting
                self._answer_late()
                response = Response(decoded.reply, status=decoded.status, content_type=decoded.content_type)
            else:
                response = _error_response(503, reason, path)
        except Exception as exc:  # the collector must outlive any request
            first_line = str(exc).partition("\n")[0]
            reason = _one_line(f"internal collector error: {type(exc).__name__}: {first_line}")
            # The traceback goes to the log (it is our bug), never into the reply.
            logger.exception("failed on %s %s: %s", _escaped(method), _escaped(path), reason)
            response = _error_response(500, reason, path)
        record = RequestRecord(method, path, response.status_code, events, size, reason)
        with self._lock:
            self._records.append(record)
        return response

    def _outage_response(self, fault: str, reason: str, request: Request) -> Response:
        """The answer to a delivery an outage fails with ``fault`` (one of ``OUTAGE_FAULTS``)."""
        if fault == "disconnect":
            _disconnect(request.environ)
            return _error_response(500, reason, request.path)  # never reaches the SDK
        if fault == "slow":
            self._answer_late()
            return _error_response(503, reason, request.path)
        response = _error_response(int(fault), reason, request.path)
        if fault == "429":
            response.headers["Retry-After"] = "1"
        return response

    def _answer_late(self) -> None:
        """Hold this request's answer for ``collector.slow_answer_seconds`` (a ``slow`` fault), or until :meth:`stop`."""
        self._stopping.wait(self.collector.slow_answer_seconds)

    def _read_body(self, request: Request) -> bytes:
        """Read at most ``max_bytes + 1`` bytes; a body that cannot be read is the client's fault."""
        try:
            return request.stream.read(self.max_bytes + 1)
        except (HTTPException, OSError, ValueError) as exc:
            if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
                msg = (
                    f"the request body stalled for more than {self.read_timeout} s; send the "
                    f"whole body without pausing"
                )
                raise WireError(msg, 408) from None
            if isinstance(exc, HTTPException):  # werkzeug's ClientDisconnected
                msg = (
                    f"the client stopped before sending the whole body (Content-Length "
                    f"{request.content_length}); send exactly Content-Length bytes"
                )
                raise WireError(msg) from None
            chunked = "chunked" in request.headers.get("Transfer-Encoding", "").lower()
            framing = "Transfer-Encoding: chunked body" if chunked else "body"
            msg = (
                f"malformed request {framing} ({exc}); send a well-formed body with a correct "
                f"Content-Length or valid chunk sizes"
            )
            raise WireError(msg) from None


def _disconnect(environ: WSGIEnvironment) -> None:
    """Close the request's connection before any answer; werkzeug then drops it quietly."""
    connection = environ.get("werkzeug.socket")
    if isinstance(connection, socket.socket):
        with contextlib.suppress(OSError):  # the SDK hung up first
            connection.shutdown(socket.SHUT_RDWR)


def _escaped(text: str) -> str:
    r"""``text`` with control characters shown as ``\xNN``, safe to print on a terminal."""
    return text.translate(_PATH_CHARS)


def _one_line(reason: str) -> str:
    """A reason fit for a reply and a log line: one line, no control characters, no secrets."""
    text = redact_secrets(reason).translate(_REASON_CHARS_TABLE)
    if len(text) > _REASON_MAX_CHARS:
        text = text[: _REASON_MAX_CHARS - 3] + "..."
    return text


_PROXY_PAGE = "<html><head><title>OK</title></head><body><p>Request accepted.</p></body></html>\n"
"""The body of a ``malformed-200`` lost ack: what a proxy or captive portal answers, not the vendor's reply."""


def _error_response(status: int, reason: str, path: str) -> Response:
    """An error answer in the shape of the vendor mounted at ``path`` (SDKs parse some of them)."""
    body, content_type = error_reply(path, status, reason)
    return Response(body, status=status, content_type=content_type)


def run_forever(http: HttpCollector) -> None:
    """Serve ``http`` in the foreground until KeyboardInterrupt, then stop it; prints nothing."""
    http.start()
    try:
        while http.running:
            time.sleep(_POLL_SECONDS * 4)
    except KeyboardInterrupt:
        pass
    finally:
        http.stop()
