"""Generated inputs: event names, properties, traits and ids that real callers pass.

Payloads come from pools built once, at import, by a seeded generator: unicode, nesting,
big integers, float32 values, empty and reserved-looking shapes. A rule step then costs
Hypothesis one integer draw (:class:`Calls`) rather than a recursive structure per
argument, so the budget goes to what identity bugs depend on (the order of identify,
reset, reopen and track calls), not to payload variety that no identity rule reads. Each
pool is ordered from the simplest value to the most complex, so shrinking an index
shrinks the value, and decoding builds fresh dicts and lists, so an SDK that mutates
what it is given cannot change the pool.
"""

from __future__ import annotations

import json
import math
import random
import struct
import uuid
from collections.abc import Callable
from typing import Any

import attrs
from hypothesis import strategies as st

DEVICES = ("device-0", "device-1", "device-2")
USERS = ("u1", "u2", "u3", "ünï-4 ✓")
ANONYMOUS_IDS = ("anon-a", "anon-b", "ånon-c")
# Ids as real systems send them, after the short ones (so shrinking ends at u1): digits
# with leading zeros, emails, UUIDs, mixed case, surrounding whitespace, the strings
# "null" and "undefined", and ids beyond 1 KB (past every vendor's documented limit). Each
# must arrive exactly as given, or the call be refused; nothing is left out because an SDK
# rewrites it.
LONG_ID_LENGTH = 1100
SERVER_USERS = (*USERS, "007", " padded-user ", "null", "undefined", "MixedCase-User",
                "\tuser-tab", "Jane.Doe+test@Example.com", "f47ac10b-58cc-4372-a567-0e02b2c3d479",
                "u" * LONG_ID_LENGTH)  # fmt: skip
SERVER_ANONYMOUS_IDS = (*ANONYMOUS_IDS, "00042", "anon-trailing ", "Anon-MIXED", "anon\ttab",
                        "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "a" * LONG_ID_LENGTH)  # fmt: skip
MARKER = "#"
"""Separates a generated event name from the step number the suite appends to it."""
TRAIT_MARKER = "ic_seq"
"""Trait the suite sets on every identify so the arriving event can be matched to its call."""

# Keys that SDKs document as their own (SEMANTICS.md 5.4, 5.5). Random keys avoid them, so
# that a payload shrinks to plain data; callers do send them (``time`` above all), and the
# rule ``track_with_field_named_key`` sends them on purpose (SDK_FIELD_POOL).
RESERVED_KEYS = frozenset(
    {TRAIT_MARKER, "token", "time", "distinct_id", "mp_lib", "alias", "category", "label", "value"}
)

_POOL_SEED = 20_261_129
"""Fixed, so the pools and therefore every run's inputs are the same on every machine."""
_KEY_POOL = ("plan", "price", "items", "seats", "ref", "a", "b", "x1")
_KEY_ALPHABET = "abcdefghijklmnopqrstuvwxyz_"
# Text as callers send it: ASCII, accents, CJK, emoji, RTL, combining marks, controls.
_TEXT_ALPHABET = (
    "aZ09 _-.:/@'\"\\\x00\n\t\x7f"
    "éüñßøå"
    "事件用户中文"
    "✓★☃"
    "\U0001f600\U0001f680\U0001f9ea"
    "שלוםمرحبا"
    "\u0301\u200d\u2028\ufeff"
)
_NAME_ALPHABET = "".join(c for c in _TEXT_ALPHABET if c.isprintable() and not c.isspace()) + " "
_FIXED_NAMES = ("Signed Up", "Order Completed", "Ünïcødé ✓ 事件", "page viewed")


def _key(rng: random.Random) -> str:
    if rng.random() < 0.7:
        return rng.choice(_KEY_POOL)
    while True:
        key = "".join(rng.choices(_KEY_ALPHABET, k=rng.randint(1, 6)))
        if key not in RESERVED_KEYS:
            return key


def _text(rng: random.Random, max_size: int) -> str:
    return "".join(rng.choices(_TEXT_ALPHABET, k=rng.randint(0, max_size)))


def _float32(rng: random.Random) -> float:
    """A finite float that a 32-bit float represents exactly (SDKs differ beyond that)."""
    while True:
        value: float = struct.unpack("<f", rng.getrandbits(32).to_bytes(4, "little"))[0]
        if value == value and abs(value) != float("inf"):  # noqa: PLR0124  (NaN test)
            return value


_SCALAR_MAKERS: tuple[Callable[[random.Random], Any], ...] = (
    lambda _rng: None,
    lambda rng: rng.random() < 0.5,
    lambda rng: rng.choice((0, 1, -1, 2**31, -(2**53), 2**53)),
    lambda rng: rng.randint(-(2**53), 2**53),
    lambda rng: rng.choice((0.0, -0.0, 0.5, 1.5, -2.25)),
    _float32,
    lambda rng: _text(rng, 8),
    lambda rng: _text(rng, 8),  # text twice: most property values are strings
)


def _scalar(rng: random.Random) -> Any:
    return rng.choice(_SCALAR_MAKERS)(rng)


def _json_value(rng: random.Random, depth: int = 0) -> Any:
    roll = rng.random()
    if depth >= 2 or roll < 0.6:
        return _scalar(rng)
    if roll < 0.8:
        return [_json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {_key(rng): _json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def _properties(rng: random.Random) -> dict[str, Any]:
    return {_key(rng): _json_value(rng) for _ in range(rng.randint(0, 3))}


def _traits(rng: random.Random) -> dict[str, Any]:
    return {_key(rng): _scalar(rng) for _ in range(rng.randint(1, 2))}


def _event_name(rng: random.Random) -> str:
    return "".join(rng.choices(_NAME_ALPHABET, k=rng.randint(1, 6))).strip() or "e"


def _pool(make: Callable[[random.Random], Any], size: int, salt: int) -> tuple[str, ...]:
    """``size`` distinct values as JSON texts, simplest (shortest) first."""
    rng = random.Random(_POOL_SEED + salt)  # noqa: S311  (test inputs, not secrets)
    texts: set[str] = set()
    for _ in range(size * 20):  # bounded: small spaces (keys) have fewer distinct values
        texts.add(json.dumps(make(rng), ensure_ascii=False))
        if len(texts) == size:
            break
    return tuple(sorted(texts, key=lambda text: (len(text), text)))


def _texts(*values: Any) -> tuple[str, ...]:
    return tuple(json.dumps(value, ensure_ascii=False) for value in values)


PROPERTY_POOL = _pool(_properties, 512, 1)
TRAIT_POOL = _pool(_traits, 128, 2)
VALUE_POOL = _pool(_json_value, 256, 3)
KEY_POOL = _pool(_key, 32, 4)
NAME_POOL = _texts(*_FIXED_NAMES) + _pool(_event_name, 60, 5)
DEVICE_POOL = _texts(*DEVICES)
USER_POOL = _texts(*USERS)
USER_OR_NONE_POOL = _texts(*USERS, None)
ANONYMOUS_ID_POOL = _texts(*ANONYMOUS_IDS)
ANONYMOUS_ID_OR_NONE_POOL = _texts(*ANONYMOUS_IDS, None)
# The small pools above repeat ids often (a later call with an earlier call's id is what
# carry-over and linking rules need); the real-world ids get a rule of their own.
REAL_USER_OR_NONE_POOL = _texts(*SERVER_USERS[len(USERS):], None)
REAL_ANONYMOUS_ID_OR_NONE_POOL = _texts(*SERVER_ANONYMOUS_IDS[len(ANONYMOUS_IDS):], None)
NO_USER_POOL = _texts(None, "")
NO_ID_POOL = _texts(None, "")
"""What a call without an id passes: nothing, or the empty string (an empty id is not an id)."""
ID_FIELD_KEYS = ("distinct_id", "user_id", "userId", "anonymous_id", "anonymousId", "device_id")
_TIME_FIELDS = ("time", "timestamp")
_TEXT_FIELDS = ("token", "insert_id", "messageId", "uuid", "event", "type")
SDK_FIELD_KEYS = (*ID_FIELD_KEYS, *_TIME_FIELDS, *_TEXT_FIELDS)
"""Property keys named like the fields the SDKs put beside a caller's data: ids, event times,
project tokens, message ids (SEMANTICS.md 5.x wire formats). Caller data under these names
must never change the ids of the call it rides on. Mixpanel's ``$user_id``, ``$device_id``
and ``$insert_id`` are left out: they are its documented way for a caller to *set* identity
and the dedup id, not collisions."""
SDK_FIELD_POOL = _texts(
    *([key, value] for key in ID_FIELD_KEYS for value in ("intruder-id", None)),
    *([key, value] for key in _TIME_FIELDS for value in (1_700_000_000, "2024-01-01T00:00:00.000Z")),
    *([key, "intruder-id"] for key in _TEXT_FIELDS),
)
"""``[key, value]`` as callers send them: another id (or null) under an id's name, epoch
seconds or an ISO time under a time's name, text under the others."""
TIMESTAMP_POOL = _texts(
    None, "2026-01-15T12:30:45.123+00:00", "2025-06-01T09:00:00+05:30", "2026-03-08T01:59:59.999-08:00",
    "2024-02-29T23:59:59.123456+00:00", "2019-11-03T10:00:00+00:00",
)
"""When a call says its event happened (ISO text; the rule passes an aware ``datetime``): UTC,
other offsets, sub-millisecond digits, a leap day, years back (a backfill or a late import)."""
MESSAGE_ID_FORMS = {
    "uuid": "{uuid}", "app": "order-{mark}-created", "hex": "{hex}",
}
"""The message ids callers give, one per call (built from the step's marker): a UUID, an
application's own key, 32 hex digits (Mixpanel's insert id form)."""
MESSAGE_ID_POOL = _texts(None, *MESSAGE_ID_FORMS)


def message_id(form: str, mark: int) -> str:
    """The message id of ``form`` (a key of MESSAGE_ID_FORMS) for the call with wire marker ``mark``."""
    return MESSAGE_ID_FORMS[form].format(mark=mark, uuid=uuid.UUID(int=mark, version=4), hex=f"{mark:032x}")


LOST_ACK_POOL = _texts("503", "malformed-200")
"""How a recorded delivery's answer is lost: a 503, or a 200 with a proxy's HTML page."""
OUTAGE_POOL = _texts(["503"], ["500", "502"], ["429"], ["disconnect"], ["503", "disconnect"])
"""Outages as the collector plays them (see ``Collector.outage``): the next deliveries fail
with these faults, in order, then it recovers. Two at most: SDKs back off between retries,
and three backoffs already near the step timeout."""
SLOW_OUTAGE_POOL = (*OUTAGE_POOL, *_texts(["slow"]))
"""The outages of an adapter that declares its request timeout: also a 503 sent past it."""

SHARED_CONTEXT = "shared"
"""The ``context`` draw that stands for the machine's one context dict, reused and changed."""
CONTEXT_POOL = _texts(
    None, SHARED_CONTEXT, {"ip": "203.0.113.7"}, {"locale": "de-DE", "timezone": "Europe/Berlin"},
    {"campaign": {"name": "spring sale", "source": "newsletter", "medium": "email"}},
    {"ip": "2001:db8::1", "userAgent": "Mozilla/5.0 (X11; Linux x86_64) Firefox/133.0"},
    {"traits": {"email": "jane@example.com", "plan": "pro"}, "groupId": "acme"},
)
"""Contexts as web back ends pass them (Segment-style: ip, locale, campaign, user agent, traits)."""
IDENTIFY_CONTEXT_POOL = tuple(text for text in CONTEXT_POOL if text != "null")
"""The contexts an identify passes (``identify_with_context`` always gives one)."""
THREAD_COUNT_POOL = _texts(2, 8, 16, 32)
"""Threads per concurrent step: 2 (what shrinking ends at) and 8 to 32, where races show (a
web server's pool of request threads)."""


@attrs.frozen
class Calls:
    """The arguments of one rule step, drawn as a single index into the product of pools.

    One integer draw per step, whatever the number of arguments; the rule decodes it
    (decoding in a ``.map`` would cost Hypothesis a second strategy per step). The first
    field is the least significant digit of the index, so shrinking the index simplifies
    the last fields (payloads) first and the first ones (devices, users) last. Decoding
    builds fresh objects every time.
    """

    fields: dict[str, tuple[str, ...]]
    indexes: st.SearchStrategy[int] = attrs.field(init=False)

    @indexes.default
    def _indexes(self) -> st.SearchStrategy[int]:
        return st.integers(0, math.prod(len(pool) for pool in self.fields.values()) - 1)

    _decoded: tuple[tuple[str, tuple[Any, ...], tuple[str, ...] | None], ...] = attrs.field(
        init=False
    )
    """Per field: its name, its values decoded once, and its JSON texts if values are mutable."""

    @_decoded.default
    def _decode_once(self) -> tuple[tuple[str, tuple[Any, ...], tuple[str, ...] | None], ...]:
        decoded = []
        for name, pool in self.fields.items():
            values = tuple(json.loads(text) for text in pool)
            mutable = any(isinstance(value, (dict, list)) for value in values)
            decoded.append((name, values, pool if mutable else None))
        return tuple(decoded)

    def decode(self, index: int) -> dict[str, Any]:
        """The keyword arguments that ``index`` stands for; dicts and lists are fresh."""
        return self.decode_with_sources(index)[0]

    def decode_with_sources(self, index: int) -> tuple[dict[str, Any], dict[int, str]]:
        """:meth:`decode`, and the JSON text of each fresh dict or list, keyed by ``id()``.

        While the arguments live, the texts say what they were at decoding, whatever
        happens to the objects later, for the price of a lookup instead of a deep copy.
        """
        arguments: dict[str, Any] = {}
        sources: dict[int, str] = {}
        for name, values, texts in self._decoded:
            index, digit = divmod(index, len(values))
            if texts is None:
                arguments[name] = values[digit]
            else:
                value = arguments[name] = json.loads(texts[digit])
                sources[id(value)] = texts[digit]
        return arguments, sources
