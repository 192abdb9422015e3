"""A JSON-lines child serving the reference SDK, or a built-in mutant, over protocol version 1.

Run as ``python -m conformance.adapters.jsonl_child NAME [--profile PROFILE]``, where NAME is
``reference`` or a mutant's name (``identity-conformance list``). It is what
``--adapter 'cmd:python -m conformance.adapters.jsonl_child reference'`` starts, and a
worked example of a child in any language (``docs/protocol.md``): it writes its hello,
takes the collector URL from ``init``, answers each request, and delivers as a real SDK
does, over HTTP: Segment batches to ``<collector_url>/segment/v1/batch``.

Only protocol lines go to stdout: file descriptor 1 is pointed at stderr at start-up, so
a stray ``print`` in an SDK cannot corrupt the protocol.
"""

from __future__ import annotations

import argparse
import datetime as dt
import http.client
import json
import os
import sys
import threading
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from typing import IO, Any, cast

import attrs

from conformance._errors import DeliveryFailedError, DeliveryTimedOutError
from conformance.adapters.jsonl._objects import sync_in_place
from conformance.adapters.protocol import (
    Adapter,
    CallOptionsAdapter,
    ClientSession,
    IdentifyContextAdapter,
)
from conformance.collector.store import Collector
from simulator import Event, Kind

PROTOCOL_VERSION = 1
SEGMENT_BATCH = "/segment/v1/batch"
_SEGMENT_TYPES = {Kind.TRACK, Kind.IDENTIFY, Kind.ALIAS, Kind.GROUP, Kind.PAGE, Kind.SCREEN}


@attrs.define
class SegmentPoster(Collector):
    """What the in-process SDK delivers to: each batch becomes one Segment POST to the collector.

    A 5xx or 429 answer, or a dropped connection (the collector failing on purpose), is
    :class:`DeliveryFailedError`, which the reference SDK retries with the same message ids,
    as over :meth:`Collector.ingest`.
    """

    target: str | None = None
    timeout: float = 30.0
    """Seconds each post waits for the collector's answer."""
    declared_timeout: bool = False
    """Whether the hello declares ``timeout`` as ``request_timeout`` (``--request-timeout``): then
    the suite's faults include answers slower than it, which cost that long each."""
    _conn: http.client.HTTPConnection | None = attrs.field(default=None, init=False)

    def ingest(self, events: list[Event]) -> None:
        """POST ``events`` as one Segment batch; raise on any reply but 200."""
        if self.target is None:
            msg = "the SDK delivered before the parent's init request named the collector URL"
            raise RuntimeError(msg)
        body = json.dumps({"batch": [segment_message(e) for e in events]}, ensure_ascii=True).encode()
        try:
            status, reply = self._post(body)
        except TimeoutError as exc:  # no answer in time (a slow fault): retried
            msg = f"the collector did not answer within {self.timeout:g} s"
            raise DeliveryTimedOutError(msg) from exc
        except (http.client.HTTPException, OSError) as exc:  # a dropped connection: retried
            raise DeliveryFailedError(f"the collector closed the connection: {exc!r}") from exc
        if status == 429 or status >= 500:
            raise DeliveryFailedError(f"collector answered {status}: {reply}")
        if status != 200:
            msg = f"collector answered {status} to {SEGMENT_BATCH}: {reply}"
            raise RuntimeError(msg)

    def _post(self, body: bytes) -> tuple[int, str]:
        assert self.target is not None
        parts = urllib.parse.urlsplit(self.target)
        for attempt in (1, 2):  # a kept-alive connection the server closed is reopened once
            if self._conn is None:
                self._conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=self.timeout)
            try:
                self._conn.request("POST", parts.path + SEGMENT_BATCH, body,
                                   {"Content-Type": "application/json"})  # fmt: skip
                response = self._conn.getresponse()
                reply = response.read().decode("utf-8", "replace")
            except (http.client.HTTPException, OSError) as exc:
                self._conn.close()
                self._conn = None
                if attempt == 2 or isinstance(exc, TimeoutError):  # a late answer is the SDK's to retry
                    raise
                continue
            if response.getheader("Connection", "").lower() == "close":
                self._conn.close()
                self._conn = None
            return response.status, reply
        raise AssertionError  # pragma: no cover


def segment_message(event: Event) -> dict[str, Any]:
    """``event`` as a Segment message (what ``conformance.collector.wire.segment`` decodes)."""
    if event.kind not in _SEGMENT_TYPES or event.device_id is not None or event.distinct_id is not None:
        msg = (f"the Segment format cannot carry {event!r}: serve a profile whose events have "
               "no device_id, distinct_id or merge (e.g. seed)")  # fmt: skip
        raise ValueError(msg)
    out: dict[str, Any] = {"type": event.kind.value}
    if event.kind is Kind.TRACK:
        out["event"] = event.name
    elif event.kind in {Kind.PAGE, Kind.SCREEN}:
        out["name"] = event.name
    ids = {"userId": event.user_id, "anonymousId": event.anonymous_id,
           "previousId": event.previous_id, "groupId": event.group_id,
           "messageId": event.message_id}  # fmt: skip
    out.update({key: value for key, value in ids.items() if value is not None})
    if event.properties:
        out["properties"] = dict(event.properties)
    if event.traits:
        out["traits"] = dict(event.traits)
    if event.context:
        out["context"] = dict(event.context)
    if event.timestamp is not None:
        moment = dt.datetime.fromtimestamp(event.timestamp / 1000, tz=dt.timezone.utc)
        out["timestamp"] = f"{moment:%Y-%m-%dT%H:%M:%S}.{event.timestamp % 1000:03d}Z"
    return out


def build_adapter(name: str, poster: SegmentPoster, profile: str | None) -> Adapter:
    """The in-process adapter ``name`` (``reference`` or a mutant) delivering to ``poster``."""
    from conformance.adapters.reference import ReferenceAdapter  # noqa: PLC0415
    from conformance.mutants import MUTANTS  # noqa: PLC0415

    if name == "reference":
        return ReferenceAdapter(poster, profile=profile or "seed")
    for mutant in MUTANTS:
        if mutant.name == name:
            built: Adapter = mutant.factory(poster, profile) if profile else mutant.factory(poster)  # type: ignore[call-arg]
            return built
    known = ", ".join(["reference", *sorted(m.name for m in MUTANTS)])
    msg = f"unknown adapter {name!r}; known: {known}"
    raise SystemExit(msg)


class Server:
    """Answers requests for one adapter; ``out`` is the protocol stream."""

    def __init__(self, adapter: Adapter, poster: SegmentPoster, out: IO[bytes]) -> None:
        self.adapter, self.poster, self.out = adapter, poster, out
        self.clients: dict[str, ClientSession] = {}
        self._objects: dict[str, dict[str, Any]] = {}
        self._write = threading.Lock()
        self._opened = 0
        self._pool: ThreadPoolExecutor | None = None
        if "threads" in adapter.info.capabilities:  # concurrent server calls stay concurrent
            self._pool = ThreadPoolExecutor(8, thread_name_prefix="jsonl-child")

    def send(self, message: dict[str, Any]) -> None:
        """Write one protocol line."""
        line = json.dumps(message, ensure_ascii=True, allow_nan=False).encode() + b"\n"
        with self._write:
            self.out.write(line)
            self.out.flush()

    def hello(self) -> None:
        """The handshake line."""
        info = self.adapter.info
        self.send({
            "type": "hello", "protocol": PROTOCOL_VERSION, "adapter": info.name,
            "kind": info.kind.value, "profile": info.profile,
            # the protocol has no exit_program, and asyncio tasks live in the parent's process
            "capabilities": sorted(info.capabilities - {"exit", "asyncio-tasks"}),
            "sdk": {"name": info.sdk_name, "version": info.sdk_version},
            "description": info.description, "expected_violation": info.expected_violation,
            "request_timeout": self.poster.timeout if self.poster.declared_timeout else None,
        })  # fmt: skip

    def serve(self, stream: IO[bytes]) -> int:
        """Answer every request until ``shutdown`` (exit 0) or end of input (exit 1)."""
        for raw in stream:
            request = json.loads(raw)
            if request.get("op") == "shutdown":
                if self._pool is not None:
                    self._pool.shutdown(wait=True)
                self.answer(request)
                return 0
            if self._pool is not None and request.get("op") in {"track", "identify", "alias"} and "client" not in request:
                self._pool.submit(self.answer, request)
            else:
                self.answer(request)
        print("jsonl_child: stdin closed before shutdown", file=sys.stderr)  # noqa: T201
        return 1

    def answer(self, request: dict[str, Any]) -> None:
        """Run one request and write its answer."""
        ident = request["id"]
        try:
            extra = self.dispatch(request)
        except _Unsupported:
            self.send({"id": ident, "unsupported": True})
        except Exception as exc:  # noqa: BLE001  (the SDK refused or raised: an error answer)
            self.send({"id": ident, "ok": False, "error": {"type": type(exc).__name__, "message": str(exc)}})
        else:
            self.send({"id": ident, "ok": True, **extra})

    def dispatch(self, r: dict[str, Any]) -> dict[str, Any]:
        """Apply request ``r`` to the adapter; return the answer's extra fields."""
        op, adapter = r["op"], self.adapter
        if "client" in r:
            client = self._client(r)
            if op == "track":
                client.track(r["name"], self._object(r))
            elif op == "identify":
                client.identify(r["user_id"], r["traits"])
            elif op == "reset":
                client.reset()
            elif op == "alias":
                client.alias(r["new_id"])
            elif op == "close":
                client.close()
            else:
                raise _Unsupported
        elif op == "init":
            self.poster.target = r["collector_url"]
        elif op == "open_client":
            session = adapter.open_client(r["storage_key"])
            self._opened += 1
            handle = f"c{self._opened}"
            self.clients[handle] = session
            return {"client": handle}
        elif op == "track":
            adapter.track(r["event"], r["properties"], user_id=r["user_id"],
                          anonymous_id=r["anonymous_id"])  # fmt: skip
        elif op == "identify":
            adapter.identify(user_id=r["user_id"], anonymous_id=r["anonymous_id"], traits=r["traits"])
        elif op == "track_with_options":
            options: dict[str, Any] = {}
            if "timestamp" in r:
                options["timestamp"] = dt.datetime.fromisoformat(r["timestamp"])
            if "message_id" in r:
                options["message_id"] = r["message_id"]
            context = options["context"] = self._context(r)
            cast("CallOptionsAdapter", adapter).track_with_options(
                r["event"], r["properties"], user_id=r["user_id"], anonymous_id=r["anonymous_id"], **options)
            return {} if context is None else {"context": context}  # as the call left the caller's dict
        elif op == "identify_with_context":
            context = self._context(r)
            cast("IdentifyContextAdapter", adapter).identify_with_context(
                user_id=r["user_id"], anonymous_id=r["anonymous_id"], traits=r["traits"], context=context)
            return {} if context is None else {"context": context}
        elif op == "alias":
            adapter.alias(previous_id=r["previous_id"], user_id=r["user_id"])
        elif op == "flush":
            adapter.flush()
        elif op == "shutdown":
            adapter.shutdown()
        else:
            raise _Unsupported
        return {}

    def _object(self, r: dict[str, Any]) -> dict[str, Any]:
        """The caller's properties object: the same ``object`` handle is the same dict, updated in place."""
        return self._kept(r["properties"], r.get("object"))

    def _context(self, r: dict[str, Any]) -> dict[str, Any] | None:
        """The caller's context dict, if the call has one: the same ``context_object`` handle is the same dict."""
        context: dict[str, Any] | None = r.get("context")
        return None if context is None else self._kept(context, r.get("context_object"))

    def _kept(self, value: dict[str, Any], handle: object) -> dict[str, Any]:
        if not isinstance(handle, str):
            return value
        known = self._objects.get(handle)
        if known is None:
            self._objects[handle] = value
            return value
        sync_in_place(known, value)
        return known

    def _client(self, r: dict[str, Any]) -> ClientSession:
        session = self.clients.get(r["client"])
        if session is None:
            msg = f"no client with handle {r['client']!r}"
            raise LookupError(msg)
        return session


class _Unsupported(Exception):  # noqa: N818  (a signal to answer "unsupported", not an error)
    pass


def main(argv: list[str] | None = None) -> int:
    """Serve the protocol on stdin/stdout."""
    parser = argparse.ArgumentParser(prog="python -m conformance.adapters.jsonl_child")
    parser.add_argument("adapter", help="reference, or a built-in mutant's name")
    parser.add_argument("--profile", default=None)
    parser.add_argument("--request-timeout", type=float, default=None, metavar="SECONDS",
                        help="HTTP timeout of the posts, declared in the hello: the suite then stages answers "
                             "slower than it (default: 30 s, not declared)")  # fmt: skip
    args = parser.parse_args(argv)
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)  # only protocol lines reach the parent's stdout pipe
    sys.stdout = sys.stderr
    poster = SegmentPoster()
    if args.request_timeout is not None:
        poster.timeout, poster.declared_timeout = args.request_timeout, True
    server = Server(build_adapter(args.adapter, poster, args.profile), poster, out)
    server.hello()
    return server.serve(sys.stdin.buffer)



if __name__ == "__main__":
    sys.exit(main())
