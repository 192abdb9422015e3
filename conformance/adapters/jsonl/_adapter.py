"""An Adapter (and its ClientSessions) that drives a child process over the JSON-lines protocol.

Each operation is one request and one answer (``docs/protocol.md``). An ``"ok": false``
answer is the SDK refusing or raising: :class:`ChildSdkError`, an ordinary
:class:`Exception`, so ``identify(None)`` refused by the SDK counts as a refusal. Anything
else that goes wrong is :class:`ChildProtocolError`, which is never a refusal.
"""

from __future__ import annotations

import os
import shlex
import threading
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from conformance.adapters.jsonl._connection import ChildConnection, ChildProtocolError
from conformance.adapters.jsonl._objects import ObjectHandles, sync_in_place
from conformance.adapters.protocol import (
    CAPABILITIES,
    MAX_REQUEST_TIMEOUT,
    AdapterInfo,
    AdapterKind,
)

if TYPE_CHECKING:
    from conformance.collector.store import Collector

VALIDATE_ENV = "CONFORMANCE_JSONL_VALIDATE"
"""Set to ``1`` to check every message both ways against the protocol schema."""


class ChildSdkError(Exception):
    """The child answered ``"ok": false``: its SDK refused the call or raised ``type``."""

    def __init__(self, op: str, error_type: str, message: str) -> None:
        self.op, self.error_type, self.error_message = op, error_type, message
        super().__init__(f"{error_type}: {message} (the adapter child's answer to {op})")


class JsonlAdapter:
    """A child process serving protocol version 1, as an :class:`~conformance.Adapter`.

    ``argv`` is the command; ``validate`` checks every message against the schema;
    ``record`` (a list) receives ``(direction, message)`` pairs.
    """

    def __init__(self, collector: Collector, argv: Sequence[str], *, validate: bool = False,
                 record: list[tuple[str, dict[str, Any]]] | None = None) -> None:  # fmt: skip
        self.argv = list(argv)
        self.validate = validate
        observers: list[Callable[[str, Mapping[str, Any]], None]] = []
        if validate:
            from conformance.adapters.jsonl._schema import check_message  # noqa: PLC0415

            observers.append(check_message)
        if record is not None:
            observers.append(lambda direction, message: record.append((direction, dict(message))))
        self._closed = False
        self._shutdown_lock = threading.Lock()
        self._contexts = ObjectHandles("x")
        self.conn = ChildConnection(self.argv, observe=_fan_out(observers) if observers else None)
        try:
            self._info = self._handshake()
            try:
                self._ok("init", {"collector_url": collector.url_for()})
            except ChildSdkError as exc:
                msg = f"the child refused init (its SDK could not be set up): {exc}"
                raise ChildProtocolError(msg, self.conn.stderr_tail()) from exc
        except BaseException:
            self.conn.kill("the handshake failed")
            raise

    def _handshake(self) -> AdapterInfo:
        hello = self.conn.hello()
        problems = []
        name, kind, profile = hello.get("adapter"), hello.get("kind"), hello.get("profile")
        capabilities, sdk = hello.get("capabilities"), hello.get("sdk")
        if not isinstance(name, str) or not name:
            problems.append(f'"adapter" must be a non-empty string (got {name!r})')
        if kind not in {k.value for k in AdapterKind}:
            problems.append(f'"kind" must be "client", "server" or "both" (got {kind!r})')
        if not isinstance(profile, str):
            problems.append(f'"profile" must be a string (got {profile!r})')
        if not isinstance(capabilities, list) or not all(isinstance(c, str) for c in capabilities):
            problems.append(f'"capabilities" must be a list of strings (got {capabilities!r})')
        elif unknown := sorted(set(capabilities) - CAPABILITIES):
            problems.append(f"unknown capabilities {unknown}; known: {sorted(CAPABILITIES)}")
        elif "asyncio-tasks" in capabilities:
            problems.append("capability 'asyncio-tasks' is for in-process Python adapters (track_async); a "
                            "child runs its own tasks: declare 'threads' and answer concurrent requests")  # fmt: skip
        if not (isinstance(sdk, dict) and isinstance(sdk.get("name"), str)
                and isinstance(sdk.get("version"), str)):  # fmt: skip
            problems.append(f'"sdk" must be {{"name": string, "version": string}} (got {sdk!r})')
        expected = hello.get("expected_violation")
        if expected is not None and not isinstance(expected, str):
            problems.append(f'"expected_violation" must be a string or absent (got {expected!r})')
        timeout = hello.get("request_timeout")
        if timeout is not None and (type(timeout) not in {int, float} or not 0 < timeout <= MAX_REQUEST_TIMEOUT):
            problems.append(f'"request_timeout" must be a number of seconds above 0 and at most '
                            f"{MAX_REQUEST_TIMEOUT:g}, or absent (got {timeout!r})")  # fmt: skip
        if problems:
            msg = f"malformed hello from {self.argv!r}: " + "; ".join(problems)
            self.conn.kill(msg)
            raise ChildProtocolError(msg, self.conn.stderr_tail())
        assert isinstance(sdk, dict)
        assert isinstance(capabilities, list)
        return AdapterInfo(
            name=str(name), kind=AdapterKind(kind), profile=str(profile),
            sdk_name=sdk["name"], sdk_version=sdk["version"],
            capabilities=frozenset(capabilities),
            description=str(hello.get("description") or f"JSON-lines child: {shlex.join(self.argv)}"),
            expected_violation=expected,
            request_timeout=None if timeout is None else float(timeout),
        )  # fmt: skip

    @property
    def info(self) -> AdapterInfo:
        """What the child declared in its hello."""
        return self._info

    @property
    def stderr_tail(self) -> list[str]:
        """The child's last stderr lines, for reports."""
        return self.conn.stderr_tail()

    def _call(self, op: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        answer = self.conn.request(op, fields)
        if answer.get("unsupported") is True:
            msg = (f'the child answered {op} with "unsupported": it does not implement an '
                   "operation the suite needed (declare only the capabilities it has)")  # fmt: skip
            raise ChildProtocolError(msg, self.conn.stderr_tail())
        if answer.get("ok") is False:
            error = answer["error"]
            raise ChildSdkError(op, error["type"], error["message"])
        return answer

    def _malformed(self, msg: str) -> ChildProtocolError:
        """Kill the child for a malformed answer; the error to raise (reported: shutdown only reaps it)."""
        self.conn.kill(msg)
        self.conn.reported = True
        return ChildProtocolError(msg, self.conn.stderr_tail())

    def _ok(self, op: str, fields: Mapping[str, Any], context: dict[str, Any] | None = None) -> None:
        """Make the call; with a ``context`` sent, mirror the one the child answers onto the caller's dict."""
        answer = self._call(op, fields)
        extra = set(answer) - {"id", "ok", *(("context",) if context is not None else ())}
        left = answer.get("context", context)
        if extra or not isinstance(left, dict | None):
            what = f"unexpected fields {sorted(extra)}" if extra else '"context" must be an object'
            msg = f"malformed answer to {op}: {what} in {answer!r}"
            raise self._malformed(msg)
        if context is not None and left != context:  # the SDK changed the caller's dict in the child
            sync_in_place(context, left)

    def open_client(self, storage_key: str) -> JsonlClient:
        """Open a client on ``storage_key``; the child names it with a handle."""
        answer = self._call("open_client", {"storage_key": storage_key})
        handle = answer.get("client")
        if not isinstance(handle, str) or not handle or set(answer) != {"id", "ok", "client"}:
            msg = f'malformed answer to open_client: needs {{"id", "ok": true, "client": non-empty string}}, got {answer!r}'
            raise self._malformed(msg)
        return JsonlClient(self, handle)

    def track(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
              anonymous_id: str | None) -> None:  # fmt: skip
        """Server-side track."""
        self._ok("track", {"event": event, "properties": properties, "user_id": user_id,
                           "anonymous_id": anonymous_id})  # fmt: skip

    def identify(self, *, user_id: str | None, anonymous_id: str | None,
                 traits: Mapping[str, Any]) -> None:  # fmt: skip
        """Server-side identify."""
        self._ok("identify", {"user_id": user_id, "anonymous_id": anonymous_id, "traits": traits})

    def track_with_options(self, event: str, properties: Mapping[str, Any], *, user_id: str | None,
                           anonymous_id: str | None, timestamp: datetime | None = None,
                           message_id: str | None = None, context: dict[str, Any] | None = None) -> None:  # fmt: skip
        """Server-side track with the options given (capabilities ``timestamp``, ``message-id``, ``context``).

        The timestamp goes as ISO 8601 with its offset; the context with a handle naming the
        caller's dict (the same dict, the same handle), and what the child answers as the
        context after the call is mirrored onto the caller's dict.
        """
        fields: dict[str, Any] = {"event": event, "properties": properties, "user_id": user_id,
                                  "anonymous_id": anonymous_id}  # fmt: skip
        if timestamp is not None:
            fields["timestamp"] = timestamp.isoformat()
        if message_id is not None:
            fields["message_id"] = message_id
        if context is not None:
            fields.update(context=context, context_object=self._contexts.handle(context))
        self._ok("track_with_options", fields, context)

    def identify_with_context(self, *, user_id: str | None, anonymous_id: str | None,
                              traits: Mapping[str, Any], context: dict[str, Any] | None) -> None:  # fmt: skip
        """Server-side identify with the caller's context dict (capability ``identify-context``), as for track_with_options."""
        fields: dict[str, Any] = {"user_id": user_id, "anonymous_id": anonymous_id, "traits": traits}
        if context is not None:
            fields.update(context=context, context_object=self._contexts.handle(context))
        self._ok("identify_with_context", fields, context)

    def alias(self, *, previous_id: str, user_id: str) -> None:
        """Server-side alias."""
        self._ok("alias", {"previous_id": previous_id, "user_id": user_id})

    def flush(self) -> None:
        """Return when the child says everything accepted was delivered."""
        self._ok("flush", {})

    def shutdown(self) -> None:
        """Ask the child to flush and exit; reap it; raise if it did not exit cleanly."""
        with self._shutdown_lock:
            if self._closed:
                return
            self._closed = True
        if self.conn.broken is not None:
            self.conn.finish()
            if self.conn.reported:  # the call that met the break raised it already
                return
            msg = f"the adapter child died between calls: {self.conn.broken}"
            raise ChildProtocolError(msg, self.conn.stderr_tail())
        try:
            self._ok("shutdown", {})
        except BaseException:
            self.conn.kill("shutdown failed")
            raise
        code = self.conn.finish()
        if code != 0:
            what = "did not exit within the grace period and was killed" if code is None else f"exited with code {code}"
            msg = f"the adapter child answered shutdown but {what}"
            raise ChildProtocolError(msg, self.conn.stderr_tail())

    def __del__(self) -> None:
        conn = getattr(self, "conn", None)
        if conn is not None and conn.broken is None:
            conn.kill("the adapter was garbage-collected without shutdown()")


class JsonlClient:
    """One client of the child, by the handle ``open_client`` answered."""

    def __init__(self, adapter: JsonlAdapter, handle: str) -> None:
        self.adapter, self.handle = adapter, handle
        self._objects = ObjectHandles("o")

    def __repr__(self) -> str:
        return f"JsonlClient({self.handle!r})"

    def track(self, name: str, properties: Mapping[str, Any]) -> None:
        """Client track; a properties object passed again keeps its identity in the child.

        The object is named by a handle: the same dict gets the same handle, so the child
        updates its own copy in place rather than receiving a new one (docs/protocol.md),
        and an SDK that keeps a reference to what it was given sees the caller's changes,
        as it would in-process.
        """
        self.adapter._ok("track", {"client": self.handle, "name": name, "properties": properties,  # noqa: SLF001
                                   "object": self._objects.handle(properties)})  # fmt: skip

    def identify(self, user_id: str, traits: Mapping[str, Any]) -> None:
        """Client identify (``user_id`` may be ``None`` or ``""``: the SDK must refuse)."""
        self.adapter._ok("identify", {"client": self.handle, "user_id": user_id, "traits": traits})  # noqa: SLF001

    def reset(self) -> None:
        """Client reset."""
        self.adapter._ok("reset", {"client": self.handle})  # noqa: SLF001

    def alias(self, new_id: str) -> None:
        """Client alias."""
        self.adapter._ok("alias", {"client": self.handle, "new_id": new_id})  # noqa: SLF001

    def close(self) -> None:
        """Close this client."""
        self.adapter._ok("close", {"client": self.handle})  # noqa: SLF001


def _fan_out(observers: list[Callable[[str, Mapping[str, Any]], None]]) -> Callable[[str, Mapping[str, Any]], None]:
    def observe(direction: str, message: Mapping[str, Any]) -> None:
        for observer in observers:
            observer(direction, message)

    return observe


CMD_PREFIX = "cmd:"
CMD_VALIDATE_PREFIX = "cmd+validate:"


def command_factory(spec: str) -> Callable[[Collector], JsonlAdapter]:
    """The factory for ``cmd:COMMAND`` or ``cmd+validate:COMMAND`` (COMMAND is shlex-split).

    Validation is also on when :data:`VALIDATE_ENV` is ``1``.
    """
    from conformance._errors import UnknownAdapterError  # noqa: PLC0415

    if spec.startswith(CMD_VALIDATE_PREFIX):
        command, validate = spec[len(CMD_VALIDATE_PREFIX):], True
    elif spec.startswith(CMD_PREFIX):
        command, validate = spec[len(CMD_PREFIX):], False
    else:
        msg = f"a command adapter is 'cmd:COMMAND' or 'cmd+validate:COMMAND' (got {spec!r})"
        raise UnknownAdapterError(msg)
    validate = validate or os.environ.get(VALIDATE_ENV) == "1"
    try:
        argv = shlex.split(command)
    except ValueError as exc:
        msg = f"cannot split the adapter command {command!r}: {exc}"
        raise UnknownAdapterError(msg) from exc
    if not argv:
        msg = f"the adapter command is empty in {spec!r}; pass e.g. 'cmd:node bridge.js'"
        raise UnknownAdapterError(msg)
    if validate:
        from conformance.adapters.jsonl._schema import require_jsonschema  # noqa: PLC0415

        require_jsonschema()

    def factory(collector: Collector) -> JsonlAdapter:
        return JsonlAdapter(collector, argv, validate=validate)

    factory.__qualname__ = factory.__name__ = f"<{spec}>"
    factory.adapter_ref = spec  # type: ignore[attr-defined]  # how reproducers name it
    return factory
