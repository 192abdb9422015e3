"""Decode every supported SDK wire format into canonical :class:`simulator.Event` records.

Pure functions only: no sockets, no logging, no clocks. :mod:`conformance.collector.http` feeds
each HTTP request to :func:`decode_request` and hands the events to the collector.

Decoding follows SEMANTICS.md section 5.8: refuse bodies over the size cap, gunzip when
``Content-Encoding: gzip`` (in linear time, with a hard cap on the output, so a compression
bomb costs at most ``max_bytes``, and on the number of gzip members), then route on the path
to one vendor decoder. Every rejection is a :class:`WireError` whose message names the bad
value and what was expected.

JSON is read strictly, wherever it appears (bodies, form fields, base64 payloads): a lone
UTF-16 surrogate in any key or string, ``NaN``, ``Infinity``, ``-Infinity`` and numbers that
overflow a float are refused with 400 and the place they were found, so nothing that cannot
be re-encoded as UTF-8 JSON ever reaches the collector. Messages that quote request content
pass through :func:`redact_secrets`, so write keys and tokens never reach a log or a reply.

Canonical field choices (the integrator relies on these):

* ``timestamp`` is always epoch **milliseconds** (ISO-8601 strings are converted, naive
  ones read as UTC; Mixpanel ``time`` / ``$time`` values below 1e11 are read as seconds).
* ``traits`` are set only on IDENTIFY and GROUP events.
* ``properties`` are only the caller's properties: the documented vendor-automatic keys
  are dropped (:data:`POSTHOG_AUTOMATIC_PROPERTIES`, :data:`MIXPANEL_AUTOMATIC_PROPERTIES`),
  and so are the few keys that were moved into canonical fields (``alias`` of an alias
  event; ``$group_type``/``$group_key``/``$group_set`` of a PostHog group identify;
  ``$distinct_ids`` of a Mixpanel merge).
* ``source`` is the request path.
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
from datetime import datetime, timedelta
from typing import Any, Final

import attrs

from conformance._errors import ConformanceError
from simulator import Event, Kind

MAX_BODY_BYTES: Final = 5 * 1024 * 1024
"""Largest request body accepted, both as sent and after gunzip (5 MiB)."""

# SEMANTICS.md section 5.4 (PostHog "automatic properties") plus the identity keys that
# section 4.2 knob 26 maps onto canonical fields; dropped from canonical ``properties``.
POSTHOG_AUTOMATIC_PROPERTIES: Final = frozenset(
    {
        "$lib",
        "$lib_version",
        "$python_runtime",
        "$python_version",
        "$os",
        "$os_version",
        "$os_distro",
        "$geoip_disable",
        "$is_server",
        "distinct_id",
        "$device_id",
        "$user_id",
        "$anon_distinct_id",
        "$set",
        "$set_once",
        "$groups",
        "$is_identified",
        "$process_person_profile",
    }
)

# SEMANTICS.md section 5.5 (Mixpanel event fields added by the library) plus the identity
# keys of section 4.2 knob 26; dropped from canonical ``properties``.
MIXPANEL_AUTOMATIC_PROPERTIES: Final = frozenset(
    {
        "token",
        "distinct_id",
        "time",
        "$insert_id",
        "mp_lib",
        "$lib_version",
        "$device_id",
        "$user_id",
        "$anon_distinct_id",
    }
)

_JSON_REPLY: Final = "application/json"
_TEXT_REPLY: Final = "text/plain; charset=utf-8"
# The classic transparent 1x1 GIF that pixel collectors answer GET requests with.
_PIXEL: Final = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
# Media types under which a JSON body is plausible (text/plain: browser sendBeacon).
_JSONISH_MEDIA: Final = frozenset({"", "application/json", "text/plain"})
_FORM_MEDIA: Final = frozenset({"", "application/x-www-form-urlencoded", "text/plain"})
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
    content_type: str = _JSON_REPLY
    reason: str = ""
    """Empty on success (every :class:`Decoded` is a success; failures raise)."""


@attrs.frozen
class _Request:
    method: str
    path: str
    content_type: str
    body: bytes
    query: str
    max_bytes: int


_Handler = Callable[[_Request], Decoded]


def decode_request(
    method: str,
    path: str,
    headers: Mapping[str, str],
    body: bytes,
    query: str = "",
    *,
    max_bytes: int = MAX_BODY_BYTES,
) -> Decoded:
    """Decode one HTTP request into canonical events; raise :class:`WireError` if malformed.

    ``headers`` are matched case-insensitively; ``query`` is the raw query string without
    the ``?``. An ``OPTIONS`` request (CORS preflight) to a known path decodes to no events
    and a 204 reply.
    """
    if len(body) > max_bytes:
        msg = f"request body is {len(body)} bytes; the collector accepts at most {max_bytes}"
        raise WireError(msg, 413)
    lowered = {key.lower(): value for key, value in headers.items()}
    body = _content_decode(body, lowered.get("content-encoding", ""), max_bytes)
    route = _ROUTES.get(path)
    if route is None:
        msg = f"unknown path {path!r}; expected one of the collector paths {sorted(_ROUTES)}"
        raise WireError(msg, 404)
    methods, handler = route
    method = method.upper()
    if method == "OPTIONS":
        return Decoded(events=(), status=204, content_type=_TEXT_REPLY)
    if method not in methods:
        msg = f"method {method!r} is not accepted on {path}; expected one of {sorted(methods)}"
        raise WireError(msg, 405)
    media = lowered.get("content-type", "").split(";", 1)[0].strip().lower()
    return handler(_Request(method, path, media, body, query, max_bytes))


# --- generic helpers -----------------------------------------------------------------


def _show(value: Any) -> str:
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


def _content_decode(body: bytes, encoding: str, max_bytes: int) -> bytes:
    coding = encoding.strip().lower()
    if coding in {"", "identity"}:
        return body
    if coding in {"gzip", "x-gzip"}:
        return _gunzip(body, max_bytes)
    msg = f"unsupported Content-Encoding {encoding!r}; expected gzip or none"
    raise WireError(msg, 415)


def _gunzip(body: bytes, max_bytes: int) -> bytes:
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


def _loads(data: bytes | str) -> Any:
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


def _refuse_non_strict(doc: Any, what: str) -> None:
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


def _parse_json(data: bytes | str, what: str) -> Any:
    try:
        doc = _loads(data)
    except (ValueError, RecursionError) as exc:
        msg = f"{what} is not valid JSON ({exc}); got {_show(data)}"
        raise WireError(msg) from None
    _refuse_non_strict(doc, what)
    return doc


def _json_body(req: _Request) -> Any:
    """Parse the body as JSON; 415 when it is not JSON and the Content-Type never said so."""
    media = req.content_type
    if media in _JSONISH_MEDIA or media.endswith("+json"):
        return _parse_json(req.body, "request body")
    try:
        doc = _loads(req.body)
    except (ValueError, RecursionError):
        msg = (
            f"{req.path} expects a JSON body (Content-Type application/json); got Content-Type "
            f"{media!r} and a body that is not JSON"
        )
        raise WireError(msg, 415) from None
    _refuse_non_strict(doc, "request body")
    return doc


def _b64decode(text: str, what: str) -> bytes:
    """Decode standard or urlsafe base64, padding optional; a space reads as ``+`` (forms)."""
    cleaned = text.strip().replace(" ", "+").translate(str.maketrans("-_", "+/")).rstrip("=")
    try:
        return base64.b64decode(cleaned + "=" * (-len(cleaned) % 4), validate=True)
    except (binascii.Error, ValueError):
        msg = f"{what} is not valid base64; got {_show(text)}"
        raise WireError(msg) from None


def _parse_form(text: str, what: str) -> dict[str, list[str]]:
    try:
        return urllib.parse.parse_qs(
            text, keep_blank_values=True, strict_parsing=False, errors="strict", max_num_fields=1000
        )
    except ValueError as exc:
        msg = f"{what} is not valid form-urlencoded data ({exc}); got {_show(text)}"
        raise WireError(msg) from None


def _object(value: Any, where: str, expected: str = "a JSON object") -> dict[str, Any]:
    if not isinstance(value, dict):
        msg = f"{where} must be {expected}, got {_show(value)}"
        raise WireError(msg)
    return value


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        msg = f"{where} must be a JSON array, got {_show(value)}"
        raise WireError(msg)
    return value


def _str(obj: Mapping[str, Any], key: str, where: str) -> str | None:
    value = obj.get(key)
    if value is None or isinstance(value, str):
        return value
    msg = f"{where}.{key} must be a string or null, got {_show(value)}"
    raise WireError(msg)


def _required_str(obj: Mapping[str, Any], key: str, where: str) -> str:
    value = obj.get(key)
    if isinstance(value, str):
        return value
    msg = f"{where}.{key} must be a string, got {_show(value)}"
    raise WireError(msg)


def _dict(obj: Mapping[str, Any], key: str, where: str) -> dict[str, Any]:
    value = obj.get(key)
    if value is None:
        return {}
    return _object(value, f"{where}.{key}", "a JSON object or null")


_ISO_8601: Final = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[T ]([0-9]{2}):([0-9]{2})"
    r"(?::([0-9]{2})(?:[.,]([0-9]{1,12}))?)?"
    r"\s*(Z|z|[+-][0-9]{2}(?::?[0-9]{2})?)?",
    re.ASCII,
)
_EPOCH: Final = datetime(1970, 1, 1)  # noqa: DTZ001 - naive on purpose; offsets applied by hand
_ONE_MS: Final = timedelta(milliseconds=1)
_SECONDS_BELOW: Final = 1e11  # epoch values below this are seconds (year 5138), above are ms


def _iso_ms(value: Any, where: str) -> int | None:
    """Convert an ISO-8601 timestamp to epoch ms; naive times are UTC."""
    if value is None:
        return None
    match = _ISO_8601.fullmatch(value.strip()) if isinstance(value, str) else None
    if match is None:
        msg = f"{where} must be an ISO-8601 timestamp string, got {_show(value)}"
        raise WireError(msg)
    year, month, day, hour, minute, second, fraction, offset = match.groups()
    try:
        moment = datetime(  # noqa: DTZ001 - naive on purpose; offsets applied by hand
            int(year), int(month), int(day), int(hour), int(minute), int(second or 0)
        )
    except ValueError as exc:
        msg = f"{where} must be a valid ISO-8601 timestamp ({exc}), got {_show(value)}"
        raise WireError(msg) from None
    millis = (moment - _EPOCH) // _ONE_MS + int(((fraction or "") + "000")[:3])
    if offset and offset not in {"Z", "z"}:
        digits = offset[1:].replace(":", "")
        minutes = int(digits[:2]) * 60 + int(digits[2:] or 0)
        millis -= (minutes if offset[0] == "+" else -minutes) * 60_000
    return millis


def _number(value: Any, where: str) -> float | int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        msg = f"{where} must be a number, got {_show(value)}"
        raise WireError(msg)
    if isinstance(value, float) and not math.isfinite(value * 1000):
        msg = f"{where} must be a finite epoch time, got {_show(value)}"
        raise WireError(msg)
    return value


def _epoch_ms(value: Any, where: str, *, seconds_if_small: bool) -> int | None:
    number = _number(value, where)
    if number is None:
        return None
    if seconds_if_small and abs(number) < _SECONDS_BELOW:
        return round(number * 1000)
    return round(number)


def _without(props: Mapping[str, Any], *drops: frozenset[str] | set[str]) -> dict[str, Any]:
    return {key: value for key, value in props.items() if not any(key in d for d in drops)}


# --- Segment and RudderStack ---------------------------------------------------------

_SEGMENT_KINDS: Final = {
    "track": Kind.TRACK,
    "identify": Kind.IDENTIFY,
    "alias": Kind.ALIAS,
    "group": Kind.GROUP,
    "page": Kind.PAGE,
    "screen": Kind.SCREEN,
}
# SEMANTICS.md 5.2/5.3 (server single-call paths) and 6.2 (analytics-next short paths).
_SEGMENT_SINGLE: Final = {
    "/v1/track": "track",
    "/v1/identify": "identify",
    "/v1/alias": "alias",
    "/v1/group": "group",
    "/v1/page": "page",
    "/v1/screen": "screen",
    "/v1/t": "track",
    "/v1/i": "identify",
    "/v1/a": "alias",
    "/v1/g": "group",
    "/v1/p": "page",
}


def _segment(req: _Request) -> Decoded:
    doc = _json_body(req)
    if req.path == "/v1/batch":
        batch = _list(_object(doc, "request body").get("batch"), "request body.batch")
        events = [
            _segment_message(msg, f"batch[{i}]", None, req.path) for i, msg in enumerate(batch)
        ]
    else:
        events = [_segment_message(doc, "request body", _SEGMENT_SINGLE[req.path], req.path)]
    return Decoded(events=tuple(events), reply=b'{"success":true}')


def _segment_message(msg: Any, where: str, implied: str | None, source: str) -> Event:
    """One Segment/RudderStack message.

    ``userId`` ``""`` (RudderStack's anonymous value) and ``null`` both decode to ``None``.
    IDENTIFY traits are the top-level ``traits`` when non-empty, else ``context.traits``
    (RudderStack); GROUP traits are the top-level ``traits`` whenever that key is present
    (``context.traits`` then holds the *user's* traits), else ``context.traits``.
    """
    msg = _object(msg, where, "a JSON object (a Segment/RudderStack message)")
    type_name = _str(msg, "type", where) or implied
    kind = _SEGMENT_KINDS.get(type_name or "")
    if kind is None:
        msg_text = f"{where}.type must be one of {sorted(_SEGMENT_KINDS)}, got {_show(type_name)}"
        raise WireError(msg_text)
    context = _dict(msg, "context", where)
    traits: dict[str, Any] = {}
    top_traits = _dict(msg, "traits", where)
    if kind is Kind.IDENTIFY:
        traits = top_traits or _dict(context, "traits", f"{where}.context")
    elif kind is Kind.GROUP:
        traits = top_traits if "traits" in msg else _dict(context, "traits", f"{where}.context")
    if kind is Kind.TRACK:
        name = _str(msg, "event", where)
    elif kind in {Kind.PAGE, Kind.SCREEN}:
        name = _str(msg, "name", where)
    else:
        name = None
    stamp_key = "timestamp" if msg.get("timestamp") is not None else "originalTimestamp"
    return Event(
        kind=kind,
        name=name,
        user_id=_str(msg, "userId", where) or None,
        anonymous_id=_str(msg, "anonymousId", where),
        previous_id=_str(msg, "previousId", where),
        group_id=_str(msg, "groupId", where),
        properties=_dict(msg, "properties", where),
        traits=traits,
        message_id=_str(msg, "messageId", where),
        timestamp=_iso_ms(msg.get(stamp_key), f"{where}.{stamp_key}"),
        source=source,
    )


# --- PostHog -------------------------------------------------------------------------

_POSTHOG_GROUP_KEYS: Final = frozenset({"$group_type", "$group_key", "$group_set"})


def _posthog(req: _Request) -> Decoded:
    body = req.body
    if _parse_form(req.query, "query string").get("compression") == ["gzip-js"]:
        body = _gunzip(body, req.max_bytes)  # posthog-js compression, flagged in the query
    doc = _json_body(attrs.evolve(req, body=body))
    if isinstance(doc, list):
        items = [(f"request body[{i}]", item) for i, item in enumerate(doc)]
    elif isinstance(doc, dict) and "batch" in doc:
        batch = _list(doc["batch"], "request body.batch")
        items = [(f"batch[{i}]", item) for i, item in enumerate(batch)]
    else:
        items = [("request body", doc)]
    events = tuple(_posthog_event(item, where, req.path) for where, item in items)
    return Decoded(events=events, reply=b'{"status":1}')


def _posthog_event(raw: Any, where: str, source: str) -> Event:
    """One PostHog event (SEMANTICS.md 5.4; knob 26).

    Ids: ``distinct_id`` is the top-level ``distinct_id``, else ``properties.distinct_id``;
    ``device_id`` is ``properties.$device_id``. ``user_id`` is ``properties.$user_id``
    when that is present; otherwise the ``distinct_id`` for the identifying events
    ``$identify`` and ``$set`` (identifying *is* naming the user), and ``None`` for every
    other event, since a plain capture does not say whether its distinct id is a user id.
    ``$create_alias`` is the exception: ``user_id`` = ``properties.alias`` and
    ``previous_id`` = ``properties.distinct_id``. ``$identify`` has ``previous_id`` =
    ``properties.$anon_distinct_id``. Traits of ``$identify``/``$set`` are
    ``properties.$set`` updated with the top-level ``$set``. ``$groupidentify`` is GROUP
    with ``name`` = ``$group_type``, ``group_id`` = ``$group_key``, traits ``$group_set``.
    ``$pageview`` is PAGE with no name (the URL stays in ``properties.$current_url``).
    """
    event = _object(raw, where, "a JSON object (a PostHog event)")
    name = _required_str(event, "event", where)
    props_where = f"{where}.properties"
    props = _dict(event, "properties", where)
    distinct = _str(event, "distinct_id", where)
    if distinct is None:
        distinct = _str(props, "distinct_id", props_where)
    explicit_user = _str(props, "$user_id", props_where)
    user_id = explicit_user
    previous_id = group_id = event_name = None
    traits: dict[str, Any] = {}
    consumed: set[str] = set()
    if name in {"$identify", "$set"}:
        kind = Kind.IDENTIFY
        user_id = explicit_user if explicit_user is not None else distinct
        traits = {**_dict(props, "$set", props_where), **_dict(event, "$set", where)}
        if name == "$identify":
            previous_id = _str(props, "$anon_distinct_id", props_where)
    elif name == "$create_alias":
        kind = Kind.ALIAS
        user_id = _str(props, "alias", props_where)
        previous_id = _str(props, "distinct_id", props_where)
        consumed = {"alias"}
    elif name == "$groupidentify":
        kind = Kind.GROUP
        event_name = _str(props, "$group_type", props_where)
        group_id = _str(props, "$group_key", props_where)
        traits = _dict(props, "$group_set", props_where)
        consumed = set(_POSTHOG_GROUP_KEYS)
    elif name == "$pageview":
        kind = Kind.PAGE
    else:
        kind = Kind.TRACK
        event_name = name
    return Event(
        kind=kind,
        name=event_name,
        user_id=user_id,
        device_id=_str(props, "$device_id", props_where),
        distinct_id=distinct,
        previous_id=previous_id,
        group_id=group_id,
        properties=_without(props, POSTHOG_AUTOMATIC_PROPERTIES, consumed),
        traits=traits,
        message_id=_str(event, "uuid", where),
        timestamp=_iso_ms(event.get("timestamp"), f"{where}.timestamp"),
        source=source,
    )


# --- Amplitude -----------------------------------------------------------------------


def _amplitude(req: _Request) -> Decoded:
    doc = _object(_json_body(req), "request body")
    events = _list(doc.get("events"), "request body.events")
    decoded = tuple(
        _amplitude_event(item, f"events[{i}]", req.path) for i, item in enumerate(events)
    )
    reply = {
        "code": 200,
        "events_ingested": len(decoded),
        "payload_size_bytes": len(req.body),
        "server_upload_time": 0,
    }
    return Decoded(events=decoded, reply=json.dumps(reply).encode())


def _amplitude_event(raw: Any, where: str, source: str) -> Event:
    """One Amplitude event (SEMANTICS.md 5.6).

    ``$identify`` is IDENTIFY with traits ``user_properties.$set``; ``$groupidentify`` is
    GROUP with ``name`` = the group type and ``group_id`` = the group name (from the single
    entry of ``groups``) and traits ``group_properties.$set``; anything else is TRACK.
    ``time`` is already epoch ms.
    """
    event = _object(raw, where, "a JSON object (an Amplitude event)")
    event_type = _required_str(event, "event_type", where)
    traits: dict[str, Any] = {}
    name: str | None = event_type
    group_id = None
    if event_type == "$identify":
        kind, name = Kind.IDENTIFY, None
        user_props = _dict(event, "user_properties", where)
        traits = _dict(user_props, "$set", f"{where}.user_properties")
    elif event_type == "$groupidentify":
        kind, name = Kind.GROUP, None
        groups = _dict(event, "groups", where)
        if len(groups) > 1:
            msg = f"{where}.groups must name one group in a $groupidentify, got {_show(groups)}"
            raise WireError(msg)
        for group_type in groups:
            name, group_id = group_type, _str(groups, group_type, f"{where}.groups")
        group_props = _dict(event, "group_properties", where)
        traits = _dict(group_props, "$set", f"{where}.group_properties")
    else:
        kind = Kind.TRACK
    return Event(
        kind=kind,
        name=name,
        user_id=_str(event, "user_id", where),
        device_id=_str(event, "device_id", where),
        group_id=group_id,
        properties=_dict(event, "event_properties", where),
        traits=traits,
        message_id=_str(event, "insert_id", where),
        timestamp=_epoch_ms(event.get("time"), f"{where}.time", seconds_if_small=False),
        source=source,
    )


# --- Mixpanel ------------------------------------------------------------------------


def _mixpanel(req: _Request) -> Decoded:
    doc = _mixpanel_payload(req)
    items = doc if isinstance(doc, list) else [doc]
    endpoint = req.path.rstrip("/")
    decode = {"/engage": _mixpanel_engage, "/groups": _mixpanel_group}.get(
        endpoint, _mixpanel_event
    )
    events = tuple(decode(item, f"data[{i}]", req.path) for i, item in enumerate(items))
    return Decoded(events=events, reply=b'{"status":1}')


def _mixpanel_payload(req: _Request) -> Any:
    """Extract the JSON inside ``data=`` (form body, or query for GET) or a plain JSON body."""
    if req.method == "GET" or (not req.body and req.query):
        form, what = _parse_form(req.query, "query string"), "query string"
    elif req.content_type == "application/json" or req.body.lstrip()[:1] in {b"{", b"["}:
        return _json_body(req)
    elif req.content_type in _FORM_MEDIA:
        text = _decode_text(req.body, "form body")
        form, what = _parse_form(text, "form body"), "form body"
    else:
        msg = (
            f"{req.path} expects form-urlencoded data=<JSON> or a JSON body; got Content-Type "
            f"{req.content_type!r}"
        )
        raise WireError(msg, 415)
    values = form.get("data")
    if not values:
        msg = f"{what} has no data= field; expected data=<JSON or base64 JSON>, got {_show(form)}"
        raise WireError(msg)
    text = values[0]
    try:
        doc = _loads(text)
    except (ValueError, RecursionError):
        doc = None
    if isinstance(doc, (dict, list)):
        _refuse_non_strict(doc, "data")
    else:
        doc = _parse_json(_b64decode(text, "data"), "base64-decoded data")
    if not isinstance(doc, (dict, list)):
        msg = f"data must be a JSON object or array, got {_show(doc)}"
        raise WireError(msg)
    return doc


def _decode_text(body: bytes, what: str) -> str:
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        msg = f"{what} is not UTF-8 ({exc})"
        raise WireError(msg) from None


def _mixpanel_event(raw: Any, where: str, source: str) -> Event:
    """One Mixpanel event (SEMANTICS.md 5.5; knob 26).

    Ids come from ``properties``: ``distinct_id``, ``$device_id``, and ``user_id`` by the
    same rule as PostHog (``$user_id`` if present, else ``distinct_id`` for ``$identify``,
    else ``None``). ``$identify`` has ``previous_id`` = ``$anon_distinct_id``;
    ``$create_alias`` is ALIAS with ``user_id`` = ``alias`` and ``previous_id`` =
    ``distinct_id``; ``$merge`` is MERGE with ``distinct_id`` and ``previous_id`` = the two
    ``$distinct_ids``. ``time`` is seconds (epoch ms if at least 1e11).
    """
    event = _object(raw, where, "a JSON object (a Mixpanel event)")
    name = _required_str(event, "event", where)
    props_where = f"{where}.properties"
    props = _dict(event, "properties", where)
    distinct = _str(props, "distinct_id", props_where)
    explicit_user = _str(props, "$user_id", props_where)
    user_id, previous_id, event_name = explicit_user, None, None
    consumed: set[str] = set()
    if name == "$identify":
        kind = Kind.IDENTIFY
        user_id = explicit_user if explicit_user is not None else distinct
        previous_id = _str(props, "$anon_distinct_id", props_where)
    elif name == "$create_alias":
        kind = Kind.ALIAS
        user_id = _str(props, "alias", props_where)
        previous_id = distinct
        consumed = {"alias"}
    elif name == "$merge":
        kind = Kind.MERGE
        ids = props.get("$distinct_ids")
        if not (isinstance(ids, list) and len(ids) == 2 and all(isinstance(i, str) for i in ids)):
            msg = f"{props_where}.$distinct_ids must be a list of two string ids, got {_show(ids)}"
            raise WireError(msg)
        distinct, previous_id = ids
        consumed = {"$distinct_ids"}
    else:
        kind = Kind.TRACK
        event_name = name
    return Event(
        kind=kind,
        name=event_name,
        user_id=user_id,
        device_id=_str(props, "$device_id", props_where),
        distinct_id=distinct,
        previous_id=previous_id,
        properties=_without(props, MIXPANEL_AUTOMATIC_PROPERTIES, consumed),
        message_id=_str(props, "$insert_id", props_where),
        timestamp=_epoch_ms(props.get("time"), f"{props_where}.time", seconds_if_small=True),
        source=source,
    )


def _mixpanel_engage(raw: Any, where: str, source: str) -> Event:
    """Decode a people record: IDENTIFY with traits = ``$set`` (other operations are not kept).

    ``distinct_id`` = ``$distinct_id`` (required); ``user_id`` = ``$user_id`` if present,
    else ``$distinct_id``; ``device_id`` = ``$device_id``; ``$time`` as for events.
    """
    record = _object(raw, where, "a JSON object (a Mixpanel people record)")
    distinct = _required_str(record, "$distinct_id", where)
    explicit_user = _str(record, "$user_id", where)
    return Event(
        kind=Kind.IDENTIFY,
        user_id=explicit_user if explicit_user is not None else distinct,
        device_id=_str(record, "$device_id", where),
        distinct_id=distinct,
        traits=_dict(record, "$set", where),
        timestamp=_epoch_ms(record.get("$time"), f"{where}.$time", seconds_if_small=True),
        source=source,
    )


def _mixpanel_group(raw: Any, where: str, source: str) -> Event:
    """Decode a group record: GROUP, ``name`` = ``$group_key``, ``group_id`` = ``$group_id``."""
    record = _object(raw, where, "a JSON object (a Mixpanel group record)")
    return Event(
        kind=Kind.GROUP,
        name=_required_str(record, "$group_key", where),
        group_id=_required_str(record, "$group_id", where),
        traits=_dict(record, "$set", where),
        timestamp=_epoch_ms(record.get("$time"), f"{where}.$time", seconds_if_small=True),
        source=source,
    )


# --- Snowplow ------------------------------------------------------------------------

_SNOWPLOW_STRUCT: Final = (
    ("category", "se_ca"),
    ("label", "se_la"),
    ("property", "se_pr"),
    ("value", "se_va"),
)
_DIGITS: Final = re.compile(r"-?[0-9]{1,18}", re.ASCII)


def _snowplow_post(req: _Request) -> Decoded:
    doc = _object(_json_body(req), "request body", "a payload_data envelope object")
    data = _list(doc.get("data"), "request body.data")
    events = tuple(_snowplow_event(item, f"data[{i}]", req.path) for i, item in enumerate(data))
    return Decoded(events=events, reply=b"ok", content_type=_TEXT_REPLY)


def _snowplow_get(req: _Request) -> Decoded:
    fields = {key: values[0] for key, values in _parse_form(req.query, "query string").items()}
    event = _snowplow_event(fields, "query", req.path)
    return Decoded(events=(event,), reply=_PIXEL, content_type="image/gif")


def _snowplow_event(raw: Any, where: str, source: str) -> Event:
    """One Snowplow tracker payload (SEMANTICS.md 5.7); every value is a string.

    ``uid`` → ``user_id``, ``duid`` → ``anonymous_id``, ``tnuid`` (the network user id)
    → ``device_id``, ``eid`` → ``message_id``, ``dtm`` → ``timestamp``. ``se`` is TRACK
    named ``se_ac`` with properties category/label/property/value (``value`` as a float);
    ``ue`` is TRACK named by the inner schema's name segment, with the inner ``data`` as properties;
    ``pv`` is PAGE named by ``url``; any other ``e`` is TRACK named by ``e``.
    """
    fields = _object(raw, where, "a JSON object of tracker fields")
    event_type = _required_str(fields, "e", where)
    properties: dict[str, Any] = {}
    kind = Kind.TRACK
    name: str | None = event_type
    if event_type == "se":
        name = _str(fields, "se_ac", where)
        for label, key in _SNOWPLOW_STRUCT:
            value = _str(fields, key, where)
            if value is not None:
                properties[label] = _float(value, f"{where}.{key}") if key == "se_va" else value
    elif event_type == "ue":
        name, properties = _snowplow_self_describing(fields, where)
    elif event_type == "pv":
        kind, name = Kind.PAGE, _str(fields, "url", where)
    dtm = _str(fields, "dtm", where)
    if dtm is not None and not _DIGITS.fullmatch(dtm):
        msg = f"{where}.dtm must be epoch milliseconds as a string of digits, got {_show(dtm)}"
        raise WireError(msg)
    return Event(
        kind=kind,
        name=name,
        user_id=_str(fields, "uid", where),
        anonymous_id=_str(fields, "duid", where),
        device_id=_str(fields, "tnuid", where),
        properties=properties,
        message_id=_str(fields, "eid", where),
        timestamp=None if dtm is None else int(dtm),
        source=source,
    )


def _float(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        msg = f"{where} must be a finite number in a string, got {_show(text)}"
        raise WireError(msg)
    return value


def _snowplow_self_describing(fields: dict[str, Any], where: str) -> tuple[str, dict[str, Any]]:
    encoded = _str(fields, "ue_px", where)
    if encoded is not None:
        outer = _parse_json(_b64decode(encoded, f"{where}.ue_px"), f"base64-decoded {where}.ue_px")
    else:
        plain = _str(fields, "ue_pr", where)
        if plain is None:
            msg = f"{where} is a self-describing event (e=ue) without ue_px or ue_pr"
            raise WireError(msg)
        outer = _parse_json(plain, f"{where}.ue_pr")
    inner_where = f"{where}.ue.data"
    inner = _object(_object(outer, f"{where}.ue").get("data"), inner_where)
    schema = _required_str(inner, "schema", inner_where)
    return _schema_name(schema), _dict(inner, "data", inner_where)


def _schema_name(schema: str) -> str:
    """``iglu:vendor/name/jsonschema/1-0-0`` names the event ``name`` (Snowplow's own reading)."""
    body = schema.removeprefix("iglu:")
    parts = body.split("/")
    if len(parts) >= 4 and parts[-2] == "jsonschema":
        return "/".join(parts[1:-2])
    return schema


# --- routing -------------------------------------------------------------------------

_POST = frozenset({"POST"})
_POST_OR_GET = frozenset({"POST", "GET"})

_ROUTES: Final[dict[str, tuple[frozenset[str], _Handler]]] = {
    "/v1/batch": (_POST, _segment),
    **dict.fromkeys(_SEGMENT_SINGLE, (_POST, _segment)),
    **dict.fromkeys(("/batch/", "/e/", "/capture/", "/i/v0/e/"), (_POST, _posthog)),
    **dict.fromkeys(("/2/httpapi", "/batch"), (_POST, _amplitude)),
    **dict.fromkeys(
        (f"/{name}{end}" for name in ("track", "engage", "groups", "import") for end in ("/", "")),
        (_POST_OR_GET, _mixpanel),
    ),
    "/com.snowplowanalytics.snowplow/tp2": (_POST, _snowplow_post),
    "/i": (frozenset({"GET"}), _snowplow_get),
}

COLLECTOR_PATHS: Final = frozenset(_ROUTES)
"""Every path :func:`decode_request` routes (SEMANTICS.md sections 5.8 and 6.2)."""
