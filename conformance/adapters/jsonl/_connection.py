"""The parent's side of one JSON-lines child: spawn, frame, match answers, keep stderr, reap.

One reader thread owns the child's stdout and one its stderr (a child that floods stderr
must never block on a full pipe). Callers write a request under a lock and wait for the
answer with the same id on an :class:`threading.Event`, which SIGALRM interrupts, so the
engine's step timeout ends a wait on a hung child; the child is then killed, since its
state is unknown. Anything the parent cannot account for (a crash, junk, a wrong id, an
unknown message) breaks the connection for good: every waiting and later call raises
:class:`ChildProtocolError` naming the cause, with the child's last stderr lines.
"""

from __future__ import annotations

import atexit
import collections
import contextlib
import json
import os
import subprocess
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any

from conformance._errors import AdapterFailedError

PROTOCOL_VERSION = 1
"""The protocol version this parent speaks; the child's hello must name it."""
STDERR_LINES = 50
"""How many of the child's last stderr lines are kept for error messages and reports."""
MAX_LINE_BYTES = 16 * 1024 * 1024
"""A stdout line longer than this is malformed (a child that never ends a line)."""
_STDERR_PIECE = 4096
SHUTDOWN_GRACE = 5.0
"""Seconds a child has to exit after answering shutdown (or after its stdin closes)."""


class ChildProtocolError(AdapterFailedError):
    """The child broke the protocol, crashed, hung or was killed: an ERROR, never a refusal.

    An :class:`AdapterFailedError`, so :meth:`Harness.attempt` never counts it as the SDK
    refusing a call. ``cause`` is one line; ``stderr`` the child's last stderr lines.
    """

    def __init__(self, cause: str, stderr: Sequence[str] = ()) -> None:
        self.cause = cause
        self.stderr = tuple(stderr)
        tail = "".join(f"\n  | {line}" for line in self.stderr)
        text = f"{cause}\n  last stderr lines of the child:{tail}" if tail else f"{cause} (the child wrote nothing to stderr)"
        super().__init__(text)


class _Slot:
    __slots__ = ("answer", "done")

    def __init__(self) -> None:
        self.done = threading.Event()
        self.answer: dict[str, Any] | None = None


_LIVE: weakref.WeakSet[ChildConnection] = weakref.WeakSet()


@atexit.register
def _reap_all() -> None:  # pragma: no cover - runs at interpreter exit
    for connection in list(_LIVE):
        connection.kill("the parent process is exiting")


class ChildConnection:
    """A running child speaking JSON lines; thread-safe :meth:`request`."""

    def __init__(self, argv: Sequence[str], *, observe: Callable[[str, Mapping[str, Any]], None] | None = None,
                 env: Mapping[str, str] | None = None) -> None:  # fmt: skip
        self.argv = list(argv)
        self._observe = observe
        """Called with ("sent" | "received", message) for every message (validation, recording)."""
        self.stderr_lines: collections.deque[str] = collections.deque(maxlen=STDERR_LINES)
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()
        self._pending: dict[int, _Slot] = {}
        self._next_id = 1
        self._broken: str | None = None
        self.reported = False
        """Whether a caller has been given the error that broke the connection."""
        self._hello = _Slot()
        try:
            self.proc = subprocess.Popen(  # noqa: S603  (the command is the user's adapter)
                self.argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE, env=dict(env) if env is not None else None,
                start_new_session=True,  # a Ctrl-C in the terminal reaches the parent only
            )  # fmt: skip
        except OSError as exc:
            msg = f"cannot start the adapter command {self.argv!r}: {exc}"
            raise ChildProtocolError(msg) from exc
        _LIVE.add(self)
        self._stderr_thread = threading.Thread(target=self._read_stderr, daemon=True,
                                               name=f"jsonl-stderr-{self.proc.pid}")  # fmt: skip
        self._stdout_thread = threading.Thread(target=self._read_stdout, daemon=True,
                                               name=f"jsonl-stdout-{self.proc.pid}")  # fmt: skip
        self._stderr_thread.start()
        self._stdout_thread.start()

    # -- what callers use ---------------------------------------------------------------

    def hello(self) -> dict[str, Any]:
        """Wait for the child's handshake line (interruptible); return it, checked."""
        return self._wait(self._hello, "the hello handshake")

    def request(self, op: str, fields: Mapping[str, Any]) -> dict[str, Any]:
        """Send one request and wait for its answer; raise :class:`ChildProtocolError` if broken."""
        slot = _Slot()
        with self._lock:
            self._raise_if_broken(op)
            ident = self._next_id
            self._next_id += 1
            self._pending[ident] = slot
        message = {"id": ident, "op": op, **fields}
        try:
            line = json.dumps(message, ensure_ascii=True, allow_nan=False) + "\n"
        except (TypeError, ValueError) as exc:
            with self._lock:
                self._pending.pop(ident, None)
            msg = f"cannot encode the {op} request as JSON: {exc} (the protocol carries JSON values only)"
            raise ChildProtocolError(msg, self.stderr_tail()) from exc
        if self._observe is not None:
            self._observe("sent", message)
        try:
            with self._write_lock:
                assert self.proc.stdin is not None
                self.proc.stdin.write(line.encode("ascii"))
                self.proc.stdin.flush()
        except OSError as exc:
            self._break(f"cannot write the {op} request to the child: {exc}")
        return self._wait(slot, f"the answer to {op} (id {ident})")

    def stderr_tail(self) -> list[str]:
        """The child's last stderr lines (at most :data:`STDERR_LINES`)."""
        with self._lock:
            return list(self.stderr_lines)

    @property
    def broken(self) -> str | None:
        """Why the connection is unusable, or ``None`` while it works."""
        return self._broken

    def kill(self, cause: str) -> None:
        """Break the connection with ``cause``, kill the child and reap it (idempotent)."""
        self._break(cause)

    def finish(self) -> int | None:
        """Close stdin, give the child :data:`SHUTDOWN_GRACE` to exit, kill it otherwise; reap.

        Returns its exit code, or ``None`` if it had to be killed.
        """
        try:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        except OSError:
            pass
        try:
            code: int | None = self.proc.wait(SHUTDOWN_GRACE)
        except subprocess.TimeoutExpired:
            code = None
        self._break("the adapter was shut down")
        self._join_readers()
        return code

    # -- inside -------------------------------------------------------------------------

    def _wait(self, slot: _Slot, what: str) -> dict[str, Any]:
        try:
            slot.done.wait()
        except BaseException as exc:  # the step timeout (SIGALRM), an interrupt: state unknown
            self.reported = True
            self._break(f"killed the child: {type(exc).__name__} while waiting for {what}: {exc}")
            raise
        answer = slot.answer
        if answer is None:
            self.reported = True
            raise ChildProtocolError(self._broken or f"no answer to {what}", self.stderr_tail())
        return answer

    def _raise_if_broken(self, op: str) -> None:
        if self._broken is not None:
            msg = f"cannot send {op}: the adapter child is unusable ({self._broken})"
            self.reported = True
            raise ChildProtocolError(msg, list(self.stderr_lines))

    def _break(self, cause: str) -> None:
        with self._lock:
            if self._broken is None:
                self._broken = cause
            slots = [*self._pending.values(), self._hello]
            self._pending.clear()
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, 9)
            except OSError:
                self.proc.kill()
        self.proc.wait()
        with contextlib.suppress(OSError, ValueError), self._write_lock:
            if self.proc.stdin is not None:
                self.proc.stdin.close()
        _LIVE.discard(self)
        for slot in slots:
            slot.done.set()

    def _join_readers(self) -> None:
        for thread in (self._stdout_thread, self._stderr_thread):
            if thread is not threading.current_thread():
                thread.join(SHUTDOWN_GRACE)

    def _read_stderr(self) -> None:
        stream = self.proc.stderr
        assert stream is not None
        with stream:
            while piece := stream.readline(_STDERR_PIECE):
                text = piece.decode("utf-8", "replace").rstrip("\r\n")
                with self._lock:
                    self.stderr_lines.append(text)

    def _read_stdout(self) -> None:
        stream = self.proc.stdout
        assert stream is not None
        with stream:
            self._read_lines(stream)

    def _read_lines(self, stream: IO[bytes]) -> None:
        first = True
        while True:
            try:
                raw = stream.readline(MAX_LINE_BYTES + 1)
            except (OSError, ValueError):
                raw = b""
            if not raw:
                self._on_eof(first=first)
                return
            if not raw.endswith(b"\n"):
                if len(raw) > MAX_LINE_BYTES:
                    self._fail(f"malformed output: a stdout line longer than {MAX_LINE_BYTES} bytes")
                else:
                    self._fail(f"truncated output: the child's stdout ended inside a line: {_show(raw)}")
                return
            cause = self._on_line(raw, first=first)
            first = False
            if cause is not None:
                self._fail(cause)
                return

    def _on_eof(self, *, first: bool) -> None:
        try:
            code = self.proc.wait(SHUTDOWN_GRACE)
        except subprocess.TimeoutExpired:
            code = None
        self._stderr_thread.join(1.0)  # its last lines explain the exit
        when = "before its hello line" if first else "while the parent still expected answers"
        if self._broken is None and (first or self._pending):
            self._fail(f"the child exited {when} (exit code {code})")
        else:
            self._fail(f"the child closed its stdout (exit code {code})")

    def _fail(self, cause: str) -> None:
        self._break(cause)

    def _on_line(self, raw: bytes, *, first: bool) -> str | None:  # noqa: PLR0911  (one return per cause)
        """Deliver one stdout line; return why it breaks the protocol, or ``None``."""
        try:
            message = json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError) as exc:
            return f"malformed output: a stdout line that is not JSON ({exc}): {_show(raw)}"
        if not isinstance(message, dict):
            return f"malformed output: a stdout line that is not a JSON object: {_show(raw)}"
        if self._observe is not None:
            try:
                self._observe("received", message)
            except Exception as exc:  # noqa: BLE001  (a schema violation breaks the protocol)
                return str(exc)
        if first:
            return self._on_hello(message, raw)
        if "id" not in message:
            kind = message.get("type")
            return f"unknown message from the child (type {kind!r}, not an answer): {_show(raw)}"
        ident = message["id"]
        shape = _answer_problem(message)
        if shape is not None:
            return f"malformed answer: {shape}: {_show(raw)}"
        with self._lock:
            slot = self._pending.pop(ident, None) if type(ident) is int else None
        if slot is None:
            return f"an answer with id {ident!r}, which no request is waiting for: {_show(raw)}"
        slot.answer = message
        slot.done.set()
        return None

    def _on_hello(self, message: dict[str, Any], raw: bytes) -> str | None:
        if message.get("type") != "hello":
            return f"the child's first line must be its hello handshake, got: {_show(raw)}"
        version = message.get("protocol")
        if version != PROTOCOL_VERSION or type(version) is not int:
            return (f"wrong protocol version: the child speaks {version!r}, this suite speaks "
                    f"{PROTOCOL_VERSION}")  # fmt: skip
        self._hello.answer = message
        self._hello.done.set()
        return None


def _answer_problem(message: Mapping[str, Any]) -> str | None:
    if type(message["id"]) is not int:
        return f"id must be an integer, got {message['id']!r}"
    if message.get("unsupported") is True and "ok" not in message:
        return None
    ok = message.get("ok")
    if ok is True:
        return None
    if ok is False:
        error = message.get("error")
        if isinstance(error, dict) and isinstance(error.get("type"), str) and isinstance(error.get("message"), str):
            return None
        return 'an "ok": false answer needs "error": {"type": string, "message": string}'
    return 'an answer needs "ok": true, "ok": false with "error", or "unsupported": true'


def _show(raw: bytes, limit: int = 200) -> str:
    text = raw.decode("utf-8", "replace").rstrip("\n")
    return repr(text if len(text) <= limit else text[:limit] + "...")
