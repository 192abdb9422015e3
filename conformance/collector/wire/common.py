"""What every wire format shares: errors, records, routes, content decoding, strict JSON, redaction.

Pure functions only: no sockets, no logging, no clocks. Every rejection is a
:class:`WireError` whose message names the bad value and what was expected. Gunzip runs in
linear time, with a hard cap on the output, so a compression bomb costs at most
``max_bytes``, and on the number of gzip members.

JSON is read strictly, wherever it appears (bodies, form fields, base64 payloads): a lone
UTF-16 surrogate in any key or string, ``NaN``, ``Infinity``, ``-Infinity`` and numbers that
overflow a float are refused with 400 and the place they were found, so nothing that cannot
be re-encoded as UTF-8 JSON ever reaches the collector. Messages that quote request content
pass through :func:`redact_secrets`, so write keys and tokens never reach a log or a reply.

Slightly over 400 lines on purpose: strict JSON, gunzip and redaction are one safety
boundary that every vendor module relies on, and reads best in one place.

A vendor module declares its endpoints as data: a tuple of :class:`Route` records, each a
set of methods, a path relative to the vendor's mount and a :data:`Decoder`. Endpoints that
browser SDKs call for configuration (settings, feature flags, remote config) are
:func:`stub` routes: they answer a fixed JSON body with status 200 and decode to no events.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
import urllib.parse
import zlib
from collections.abc import Callable, Mapping
from typing import Any, Final

import attrs

from conformance._errors import ConformanceError
from simulator import Event

MAX_BODY_BYTES: Final = 5 * 1024 * 1024
"""Largest request body accepted, both as sent and after gunzip (5 MiB)."""

JSON_REPLY: Final = "application/json"
TEXT_REPLY: Final = "text/plain; charset=utf-8"
# Media types under which a JSON body is plausible (text/plain: browser sendBeacon).
_JSONISH_MEDIA: Final = frozenset({"", "application/json", "text/plain"})
FORM_MEDIA: Final = frozenset({"", "application/x-www-form-urlencoded", "text/plain"})
_SHOWN_CHARS: Final = 80
# Gunzip reads at most this much input per call, so each member's ``unused_data`` copy is
# small: the work is linear in the body size however many members it has.
_GZIP_WINDOW: Final = 16 * 1024
_MAX_GZIP_MEMBERS: Final = 1024
"""More concatenated gzip members than any SDK sends; beyond this the body is refused."""


class WireError(ConformanceError, ValueError):
    """A request the collector cannot decode; ``status`` is the HTTP status to answer with.

    400 malformed body or field, 404 unknown path, 405 wrong method, 413 body too large
    (before or after gunzip), 415 unsupported content type or encoding.
    """

    def __init__(self, msg: str, status: int = 400) -> None:
        super().__init__(msg, status)
        self.reason = msg
        self.status = status

    def __str__(self) -> str:
        """Show the reason alone, as logged and sent back to the SDK."""
        return self.reason


@attrs.frozen
class Decoded:
    """One decoded request: the canonical events and the reply the vendor's SDK expects."""

    events: tuple[Event, ...]
    status: int = 200
    reply: bytes = b""
    content_type: str = JSON_REPLY
    reason: str = ""
    """Empty on success (every :class:`Decoded` is a success; failures raise)."""


@attrs.frozen
class Request:
    """One request as a decoder sees it; ``path`` is relative to the vendor's mount.

    ``source`` is the path as requested (with the vendor prefix, if any): it names the
    endpoint in messages and becomes each event's ``source``.
    """

    method: str
    path: str
    content_type: str
    body: bytes
    query: str
    max_bytes: int
    source: str


Decoder = Callable[[Request], Decoded]
"""A vendor's decoder: one request in, its events and reply out, or a :class:`WireError`."""

GET: Final = frozenset({"GET"})
POST: Final = frozenset({"POST"})
POST_OR_GET: Final = frozenset({"POST", "GET"})


@attrs.frozen
class Route:
    """One endpoint of a vendor: the methods it accepts, its path and how it is decoded.

    ``path`` is relative to the vendor's mount (``/v1/batch`` serves ``/segment/v1/batch``)
    and may hold ``{name}`` placeholders, each matching one non-empty path segment
    (``/v1/projects/{key}/settings``).
    """

    methods: frozenset[str]
    path: str
    decode: Decoder = attrs.field(eq=False)

    @property
    def ingests(self) -> bool:
        """Whether requests here carry events (a :func:`stub` route never does)."""
        return not isinstance(self.decode, FixedReply)


@attrs.frozen
class FixedReply:
    """The decoder of a stub route: no events, status 200, always the same JSON body."""

    reply: bytes

    def __call__(self, req: Request) -> Decoded:
        """Answer ``reply`` whatever was sent."""
        del req
        return Decoded(events=(), reply=self.reply)


def stub(path: str, body: Mapping[str, Any], methods: frozenset[str] = GET) -> Route:
    """A route that answers ``body`` as JSON with 200 and ingests nothing.

    For the configuration endpoints browser SDKs call before they send events (settings,
    feature flags, remote config). The body is a minimal valid answer, not the vendor's
    real configuration: enough for the SDK to go on sending events to the collector.
    """
    reply = json.dumps(body, separators=(",", ":"), sort_keys=True).encode()
    return Route(methods, path, FixedReply(reply))


ErrorReply = Callable[[int, str], tuple[str, str]]
"""How a vendor's API answers an error: ``(status, reason)`` to ``(body, content type)``."""


def json_error(status: int, reason: str) -> tuple[str, str]:
    """``{"error": reason}`` as JSON: the collector's own shape, for paths of no vendor."""
    del status
    return json.dumps({"error": reason}), JSON_REPLY


_STATUS_SLUGS: Final = {400: "bad_request", 408: "request_timeout", 413: "payload_too_large",
                        429: "too_many_requests", 500: "internal_server_error", 502: "bad_gateway",
                        503: "service_unavailable"}  # fmt: skip


def status_slug(status: int) -> str:
    """A machine-readable code for an HTTP status, as vendors put in their error replies."""
    return _STATUS_SLUGS.get(status, "server_error" if status >= 500 else "bad_request")


def show(value: Any) -> str:
    """``'x' of type str``, shortened and with secrets redacted (it may quote the request)."""
    text = repr(_redacted(value, _SHOWN_CHARS))
    if len(text) > _SHOWN_CHARS:
        text = text[: _SHOWN_CHARS - 3] + "..."
    return f"{text} of type {type(value).__name__}"


# Field names whose values are credentials; matched case-insensitively, with an optional
# leading "$" and "_", "-" or nothing between words (writeKey, write_key, $token, api-key).
_SECRET_FIELD_NAMES: Final = (
    "write_key",
    "api_key",
    "api_secret",
    "secret_key",
    "secret",
    "token",
    "project_token",
    "access_token",
    "auth_token",
    "personal_api_key",
    "client_secret",
    "password",
    "authorization",
    "key",
)
_REDACTED: Final = "<redacted>"
_SECRET_KEY_RE: Final = re.compile(
    "[$]?(?:" + "|".join(name.replace("_", "[_-]?") for name in _SECRET_FIELD_NAMES) + ")",
    re.IGNORECASE,
)
# Three shapes of credential in quoted request text: a quoted secret key followed by a
# colon and its value (JSON or Python repr, the value possibly cut short), a form or
# query field named like a secret, and HTTP Basic/Bearer credentials.
_QUOTED_SECRET: Final = re.compile(
    rf"""(?P<head>(?P<q>["'])(?:{_SECRET_KEY_RE.pattern})(?P=q)\s*:\s*)"""
    r"""(?P<value>"(?:[^"\\]|\\.)*"?|'(?:[^'\\]|\\.)*'?|[^,}\]\s]*)""",
    re.IGNORECASE,
)
_FORM_SECRET: Final = re.compile(
    rf"(?P<head>(?:^|(?<=[&?;\s]))(?:{_SECRET_KEY_RE.pattern})=)(?P<value>[^&;\s]*)",
    re.IGNORECASE,
)
_AUTH_SECRET: Final = re.compile(
    r"""\b(?P<head>(?:Basic|Bearer)\s+)(?P<value>[^\s"',;]+)""", re.IGNORECASE
)
_TEXT_KEPT: Final = 4 * _SHOWN_CHARS


def _is_secret_name(name: str) -> bool:
    return _SECRET_KEY_RE.fullmatch(name) is not None


def redact_secrets(text: str) -> str:
    """Replace credential values (write keys, API keys, tokens, auth headers) in ``text``."""
    text = _QUOTED_SECRET.sub(lambda m: m["head"] + _quoted(m["value"]), text)
    text = _FORM_SECRET.sub(lambda m: m["head"] + _REDACTED, text)
    return _AUTH_SECRET.sub(lambda m: m["head"] + _REDACTED, text)


def _quoted(value: str) -> str:
    quote = value[:1] if value[:1] in {'"', "'"} else ""
    return f"{quote}{_REDACTED}{quote}"


def _redacted(value: Any, budget: int) -> Any:
    """A copy of ``value`` with secret-named fields blanked, cut to what a preview can show.

    Containers keep their first ``budget`` items and strings their first few hundred
    characters (a preview shows 80), so a huge or deep document costs little.
    """
    if budget <= 0:
        return ...
    if isinstance(value, str):
        return redact_secrets(value[:_TEXT_KEPT])
    if isinstance(value, bytes):
        return redact_secrets(value[:_TEXT_KEPT].decode("latin-1")).encode("latin-1")
    if isinstance(value, dict):
        return {
            key: _REDACTED
            if isinstance(key, str) and _is_secret_name(key)
            else _redacted(item, budget - 1)
            for key, item in list(value.items())[:budget]
        }
    if isinstance(value, list):
        return [_redacted(item, budget - 1) for item in value[:budget]]
    return value


def content_decode(body: bytes, encoding: str, max_bytes: int) -> bytes:
    """Undo ``Content-Encoding`` (gzip or none); 415 for any other coding."""
    coding = encoding.strip().lower()
    if coding in {"", "identity"}:
        return body
    if coding in {"gzip", "x-gzip"}:
        return gunzip(body, max_bytes)
    msg = f"unsupported Content-Encoding {encoding!r}; expected gzip or none"
    raise WireError(msg, 415)


def gunzip(body: bytes, max_bytes: int) -> bytes:
    """Gunzip every member of ``body``, never producing more than ``max_bytes + 1`` bytes.

    Input is fed in windows of :data:`_GZIP_WINDOW` bytes, so the remainder copied at the
    end of each member is small and the whole loop is linear in ``len(body)``; at most
    :data:`_MAX_GZIP_MEMBERS` members are read.
    """
    out = bytearray()
    view = memoryview(body)
    position = members = 0
    while position < len(body) or members == 0:
        members += 1
        if members > _MAX_GZIP_MEMBERS:
            msg = (
                f"gzip body has more than {_MAX_GZIP_MEMBERS} concatenated members; send the "
                f"payload as one gzip stream"
            )
            raise WireError(msg)
        inflater = zlib.decompressobj(wbits=31)
        while not inflater.eof:
            if position >= len(body):
                msg = (
                    f"Content-Encoding is gzip but the gzip stream is truncated ({len(body)} bytes)"
                )
                raise WireError(msg)
            window = view[position : position + _GZIP_WINDOW]
            try:
                # max_length is at least 1 here: 0 would mean "no limit".
                out += inflater.decompress(window, max_bytes + 1 - len(out))
            except zlib.error as exc:
                msg = f"Content-Encoding is gzip but the body is not gzip data ({exc})"
                raise WireError(msg) from None
            if len(out) > max_bytes:
                msg = f"gzip body inflates to more than {max_bytes} bytes (compression bomb?)"
                raise WireError(msg, 413)
            position += len(window) - len(inflater.unconsumed_tail) - len(inflater.unused_data)
    return bytes(out)


@attrs.frozen
class _NonFinite:
    """Stands in for ``NaN``, ``Infinity`` or an overflowing number while JSON is parsed."""

    text: str


def _non_finite_float(text: str) -> float | _NonFinite:
    value = float(text)
    return value if math.isfinite(value) else _NonFinite(text)


def loads(data: bytes | str) -> Any:
    """``json.loads`` that keeps non-finite numbers as :class:`_NonFinite` markers."""
    return json.loads(data, parse_constant=_NonFinite, parse_float=_non_finite_float)


_SURROGATE: Final = re.compile(r"[\ud800-\udfff]")
_PLAIN_KEY: Final = re.compile(r"[A-Za-z_$][A-Za-z0-9_$]*", re.ASCII)
_Path = tuple[Any, ...]  # (parent path, key or index), or () at the root


def _surrogate_in(text: str) -> str | None:
    found = None if text.isascii() else _SURROGATE.search(text)
    return None if found is None else found.group()


def _render_path(path: _Path, what: str) -> str:
    """``batch[0].event`` (a path that starts at an index or is empty is prefixed with what)."""
    steps: list[str] = []
    while path:
        path, step = path
        if isinstance(step, int):
            steps.append(f"[{step}]")
        elif _PLAIN_KEY.fullmatch(step):
            steps.append(f".{step}")
        else:
            steps.append(f"[{step!r}]")
    text = "".join(reversed(steps))
    if what == "request body" and text.startswith("."):
        return text[1:]
    return what + text


def refuse_non_strict(doc: Any, what: str) -> None:
    """Raise a 400 :class:`WireError` at the first lone surrogate or non-finite number.

    The walk is iterative (a deeply nested document cannot overflow the stack) and builds
    paths only for the value it reports.
    """
    stack: list[tuple[Any, _Path]] = [(doc, ())]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            surrogate = _surrogate_in(value)
            if surrogate is not None:
                msg = (
                    f"{_render_path(path, what)} contains the lone UTF-16 surrogate "
                    f"{surrogate!r}, which is not valid Unicode; send well-formed UTF-8 "
                    f"(a \\u escape must be a complete surrogate pair)"
                )
                raise WireError(msg)
        elif isinstance(value, dict):
            for key in value:
                surrogate = _surrogate_in(key)
                if surrogate is not None:
                    msg = (
                        f"a key in {_render_path(path, what)} ({key!r}) contains the lone "
                        f"UTF-16 surrogate {surrogate!r}, which is not valid Unicode; send "
                        f"well-formed UTF-8 (a \\u escape must be a complete surrogate pair)"
                    )
                    raise WireError(msg)
            stack.extend((item, (path, key)) for key, item in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((value[i], (path, i)) for i in range(len(value) - 1, -1, -1))
        elif isinstance(value, _NonFinite):
            shown = value.text if len(value.text) <= 40 else value.text[:37] + "..."
            msg = (
                f"{_render_path(path, what)} is {shown}, which strict JSON does not allow "
                f"(NaN, Infinity and numbers beyond the float range have no JSON meaning); "
                f"send a finite number"
            )
            raise WireError(msg)


def parse_json(data: bytes | str, what: str) -> Any:
    """Parse strict JSON (see :func:`refuse_non_strict`); 400 naming ``what`` if it is not."""
    try:
        doc = loads(data)
    except (ValueError, RecursionError) as exc:
        msg = f"{what} is not valid JSON ({exc}); got {show(data)}"
        raise WireError(msg) from None
    refuse_non_strict(doc, what)
    return doc


def json_body(req: Request) -> Any:
    """Parse the body as JSON; 415 when it is not JSON and the Content-Type never said so."""
    media = req.content_type
    if media in _JSONISH_MEDIA or media.endswith("+json"):
        return parse_json(req.body, "request body")
    try:
        doc = loads(req.body)
    except (ValueError, RecursionError):
        msg = (
            f"{req.source} expects a JSON body (Content-Type application/json); got Content-Type "
            f"{media!r} and a body that is not JSON"
        )
        raise WireError(msg, 415) from None
    refuse_non_strict(doc, "request body")
    return doc


def b64decode(text: str, what: str) -> bytes:
    """Decode standard or urlsafe base64, padding optional; a space reads as ``+`` (forms)."""
    cleaned = text.strip().replace(" ", "+").translate(str.maketrans("-_", "+/")).rstrip("=")
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError):
        msg = f"{what} is not valid base64; got {show(text)}"
        raise WireError(msg) from None


def parse_form(text: str, what: str) -> dict[str, list[str]]:
    """Parse form-urlencoded ``text`` (at most 1000 fields); 400 naming ``what`` if malformed."""
    try:
        return urllib.parse.parse_qs(
            text, keep_blank_values=True, strict_parsing=False, errors="strict", max_num_fields=1000
        )
    except ValueError as exc:
        msg = f"{what} is not valid form-urlencoded data ({exc}); got {show(text)}"
        raise WireError(msg) from None
