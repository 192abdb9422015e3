"""Tests for the mixpanel-browser side of conformance.collector.wire.mixpanel.

The requests below are shaped as mixpanel-browser 2.83.0 sends them under the Node bridge
(``bridge/sdks/mixpanel.mjs``): batches of events or people records, JSON text that the
SDK's own encoder turned into bytes and base64, form-encoded as ``data=`` in a POST body,
with ``verbose``, ``ip`` and ``_`` in the query string.
"""

from __future__ import annotations

import base64
import json
import urllib.parse
from typing import Any

import pytest

from conformance.collector.wire import WireError, decode_request
from simulator import Event, Kind

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
BEACON = {"Content-Type": "text/plain;charset=UTF-8"}
QUERY = "verbose=1&ip=1&_=1796182346533"
DEVICE = "2719c3f6-406d-41aa-97e8-74eef518f79b"
ANONYMOUS = f"$device:{DEVICE}"
# What mixpanel-browser adds to every event on the bridge's page (src/utils.js
# _.info.properties, persisted referrer super properties, the batcher's lib version).
AUTOMATIC = {
    "$browser": "Safari",
    "$current_url": "https://app.example.com/",
    "$browser_version": None,
    "$screen_height": 0,
    "$screen_width": 0,
    "mp_lib": "web",
    "$lib_version": "2.83.0",
    "$initial_referrer": "$direct",
    "$initial_referring_domain": "$direct",
    "token": "ic-mixpanel-token",
    "mp_sent_by_lib_version": "2.83.0",
}
PEOPLE_AUTOMATIC = {"$browser": "Safari", "$browser_version": None}


def utf8_encode(text: str) -> bytes:
    """Encode ``text`` as mixpanel-browser's ``_.utf8Encode`` does: one UTF-16 unit at a time."""
    units = text.encode("utf-16-le")
    out = bytearray()
    for i in range(0, len(units), 2):
        unit = int.from_bytes(units[i : i + 2], "little")
        if unit < 0x80:
            out.append(unit)
        elif unit < 0x800:
            out += bytes((0xC0 | unit >> 6, 0x80 | unit & 0x3F))
        else:
            out += bytes((0xE0 | unit >> 12, 0x80 | unit >> 6 & 0x3F, 0x80 | unit & 0x3F))
    return bytes(out)


def browser_body(records: Any) -> bytes:
    """A batch as mixpanel-browser posts it: ``data=`` + encodeURIComponent(base64(...))."""
    text = base64.b64encode(utf8_encode(json.dumps(records, ensure_ascii=False))).decode()
    return f"data={urllib.parse.quote(text, safe='')}".encode()


def browser_post(path: str, records: Any, headers: dict[str, str] = FORM) -> tuple[Event, ...]:
    """POST ``records`` to the Mixpanel mount as the browser SDK does; the decoded events."""
    return decode_request("POST", f"/mixpanel{path}", headers, browser_body(records), QUERY).events


def event(name: str, **properties: Any) -> dict[str, Any]:
    """A mixpanel-browser event with the automatic properties, ``properties`` last."""
    return {
        "event": name,
        "properties": {
            **AUTOMATIC,
            "$insert_id": f"id-{name}",
            "time": 1796182346.533,
            "$device_id": DEVICE,
            **properties,
        },
    }


def people(**record: Any) -> dict[str, Any]:
    """A mixpanel-browser people record for this device."""
    return {"$token": "ic-mixpanel-token", "$device_id": DEVICE, **record}


def test_a_track_batch_decodes_to_the_callers_events_with_their_ids() -> None:
    """A /track/ batch keeps call order; automatic properties are dropped, ids and times kept.

    ``distinct_id`` stays the switching id (``$device:<uuid>`` while anonymous), ``$device_id``
    is the device id, ``$user_id`` the user; ``$insert_id`` is the message id and ``time``
    (seconds) becomes epoch milliseconds.
    """
    batch = [
        event("Signed Up#1", distinct_id=ANONYMOUS, plan="pro", items=[1, {"a": None}]),
        event("closing probe#2", distinct_id="u1", **{"$user_id": "u1"}),
    ]
    assert browser_post("/track/", batch) == (
        Event(
            kind=Kind.TRACK,
            name="Signed Up#1",
            device_id=DEVICE,
            distinct_id=ANONYMOUS,
            properties={"plan": "pro", "items": [1, {"a": None}]},
            message_id="id-Signed Up#1",
            timestamp=1796182346533,
        ),
        Event(
            kind=Kind.TRACK,
            name="closing probe#2",
            user_id="u1",
            device_id=DEVICE,
            distinct_id="u1",
            message_id="id-closing probe#2",
            timestamp=1796182346533,
        ),
    )


def test_identify_and_alias_events_name_both_ids() -> None:
    """``$identify`` is an IDENTIFY naming ``$anon_distinct_id``; ``$create_alias`` an ALIAS.

    After ``alias(u3)`` the SDK's own ``identify(u3)`` keeps ``distinct_id`` and sets
    ``$user_id``, and its ``$identify`` names ``distinct_id: u3`` with the old distinct id.
    """
    batch = [
        event("$identify", distinct_id="u1", **{"$user_id": "u1", "$anon_distinct_id": ANONYMOUS}),
        event("$create_alias", distinct_id=ANONYMOUS, alias="u3"),
    ]
    identify, alias = browser_post("/track/", batch)
    assert (identify.kind, identify.user_id, identify.distinct_id, identify.previous_id) == (
        Kind.IDENTIFY,
        "u1",
        "u1",
        ANONYMOUS,
    )
    assert (alias.kind, alias.user_id, alias.distinct_id, alias.previous_id) == (
        Kind.ALIAS,
        "u3",
        ANONYMOUS,
        ANONYMOUS,
    )
    assert (identify.properties, alias.properties) == ({}, {})


def test_an_engage_batch_is_one_identify_per_people_record() -> None:
    """Each /engage/ record is an IDENTIFY; its traits are the caller's ``$set`` only.

    The browser's own ``$set`` additions ($browser, $browser_version, $os) are not traits;
    the ``$set_once`` of referrer data the SDK queues at load and flushes on identify is a
    profile update with no traits.
    """
    batch = [
        people(**{"$set_once": {"$initial_referrer": "$direct"}, "$distinct_id": "u1", "$user_id": "u1"}),
        people(**{"$set": {**PEOPLE_AUTOMATIC, "$os": "Linux", "ic_seq": 2, "email": "e"},
                  "$distinct_id": "u1", "$user_id": "u1"}),
    ]  # fmt: skip
    assert browser_post("/engage/", batch) == (
        Event(kind=Kind.IDENTIFY, user_id="u1", device_id=DEVICE, distinct_id="u1"),
        Event(
            kind=Kind.IDENTIFY,
            user_id="u1",
            device_id=DEVICE,
            distinct_id="u1",
            traits={"ic_seq": 2, "email": "e"},
        ),
    )


def test_a_people_record_with_a_null_distinct_id_still_arrives() -> None:
    """After ``identify(null)`` the SDK sends ``$distinct_id: null``: the record arrives as it is.

    Refusing it would make the SDK drop the whole batch (it drops a batch answered 4xx).
    """
    record = people(**{"$set": {"ic_seq": 11}, "$distinct_id": None})
    assert browser_post("/engage/", [record]) == (
        Event(kind=Kind.IDENTIFY, device_id=DEVICE, traits={"ic_seq": 11}),
    )


def test_a_people_record_without_a_distinct_id_is_refused() -> None:
    """A people record that does not name its person at all is a 400 naming the record."""
    with pytest.raises(WireError, match=r"data\[0\] has no \$distinct_id") as info:
        browser_post("/engage/", [people(**{"$set": {"a": 1}})])
    assert info.value.status == 400


def test_an_emoji_arrives_as_the_replacement_characters_the_sdk_really_sent() -> None:
    """The SDK's encoder turns an emoji into two encoded surrogates, which are not UTF-8.

    They decode as U+FFFD (a browser's TextDecoder would), so the event still arrives, with
    the corrupted name and property, instead of the request being refused.
    """
    assert utf8_encode("\U0001f600") == b"\xed\xa0\xbd\xed\xb8\x80"
    (got,) = browser_post(
        "/track/", [event("a\U0001f600#3", distinct_id=ANONYMOUS, p="\U0001f680")]
    )
    assert got.name is not None
    assert got.name.startswith("a\ufffd")
    assert got.name.endswith("\ufffd#3")
    assert "\U0001f600" not in got.name
    assert set(got.properties["p"]) == {"\ufffd"}


def test_characters_of_the_basic_plane_arrive_unchanged() -> None:
    """Accents, CJK, RTL text and symbols survive the SDK's encoder and the decoder."""
    text = "Ünïcødé ✓ 事件 שלום"
    (got,) = browser_post("/track/", [event(text, distinct_id=ANONYMOUS, p=text)])
    assert (got.name, got.properties) == (text, {"p": text})


def test_an_escaped_lone_surrogate_is_still_refused() -> None:
    r"""A JSON ``\ud800`` escape inside the base64 payload is refused as everywhere else."""
    text = base64.b64encode(b'[{"event":"e","properties":{"distinct_id":"\\ud800"}}]').decode()
    body = f"data={urllib.parse.quote(text, safe='')}".encode()
    with pytest.raises(WireError, match="lone UTF-16 surrogate") as info:
        decode_request("POST", "/mixpanel/track/", FORM, body, QUERY)
    assert info.value.status == 400


def test_a_send_beacon_body_decodes_like_a_form_post() -> None:
    """On page hide the SDK sends its batch with sendBeacon: a text/plain ``data=`` body."""
    batch = [event("Left#4", distinct_id=ANONYMOUS)]
    assert browser_post("/track/", batch, BEACON) == browser_post("/track/", batch)


def test_a_get_carries_its_batch_in_the_query() -> None:
    """With ``api_method: 'GET'`` the base64 ``data`` is a query field next to the others."""
    batch = [event("Got#5", distinct_id=ANONYMOUS)]
    query = f"{browser_body(batch).decode()}&{QUERY}"
    decoded = decode_request("GET", "/mixpanel/track/", {}, b"", query)
    assert decoded.events == browser_post("/track/", batch)


def test_the_reply_is_what_the_batcher_reads_as_success() -> None:
    """Batches are sent ``verbose``: the SDK reads ``{"status": 1}`` as delivered."""
    decoded = decode_request("POST", "/mixpanel/track/", FORM, browser_body([event("x#6")]), QUERY)
    assert (decoded.status, json.loads(decoded.reply)) == (200, {"status": 1})


def test_a_groups_batch_is_one_group_per_record() -> None:
    """/groups/ records are GROUP events named by ``$group_key`` and ``$group_id``."""
    record = {"$token": "T", "$group_key": "company", "$group_id": "acme", "$set": {"seats": 5}}
    assert browser_post("/groups/", [record]) == (
        Event(kind=Kind.GROUP, name="company", group_id="acme", traits={"seats": 5}),
    )


def test_mixpanel_python_payloads_decode_as_before() -> None:
    """mixpanel-python's plain-JSON ``data=`` still decodes, its fields as SEMANTICS 5.5 says."""
    payload = {
        "event": "Signed Up",
        "properties": {"token": "T", "distinct_id": "u1", "time": 1735689600.5,
                       "$insert_id": "abc", "mp_lib": "python", "$lib_version": "5.4.1",
                       "plan": "pro"},
    }  # fmt: skip
    body = urllib.parse.urlencode({"data": json.dumps(payload), "verbose": "1", "ip": "0"})
    decoded = decode_request("POST", "/mixpanel/track", FORM, body.encode(), "")
    assert decoded.events == (
        Event(kind=Kind.TRACK, name="Signed Up", distinct_id="u1", properties={"plan": "pro"},
              message_id="abc", timestamp=1735689600500),
    )  # fmt: skip


def test_a_whole_double_beyond_2_53_arrives_as_the_double_it_was() -> None:
    """JSON.stringify writes -1.0004922219186094e+18 as plain digits; it is read back as that double.

    Read as a Python int it would be another number (the double's exact value differs from
    the printed digits), and a property passed as the double would seem changed.
    """
    value = -1.0004922219186094e18
    printed = "-1000492221918609400"  # what JSON.stringify(value) gives in Node and browsers
    assert int(printed) != value
    text = json.dumps([event("n#7", distinct_id=ANONYMOUS)]).replace(
        '"time"', f'"p": {printed}, "time"'
    )
    body = f"data={urllib.parse.quote(base64.b64encode(text.encode()).decode(), safe='')}".encode()
    (got,) = decode_request("POST", "/mixpanel/track/", FORM, body, QUERY).events
    assert got.properties == {"p": value}
    assert type(got.properties["p"]) is float


def test_integers_a_double_holds_exactly_stay_integers() -> None:
    """Integers up to 2**53 (in lists and nested objects too) arrive as the same ints."""
    props = {"n": 2**53, "m": -(2**53), "l": [1, {"k": 2**53 - 1}]}
    (got,) = browser_post("/track/", [event("i#8", distinct_id=ANONYMOUS, **props)])
    assert got.properties == props
    assert all(type(v) is int for v in (got.properties["n"], got.properties["l"][1]["k"]))


def test_an_integer_beyond_any_double_is_refused() -> None:
    """An integer no JavaScript number can be (past the double range) is a 400, not a crash."""
    text = '[{"event": "x", "properties": {"p": 1' + "0" * 400 + "}}]"
    body = f"data={urllib.parse.quote(base64.b64encode(text.encode()).decode(), safe='')}".encode()
    with pytest.raises(WireError, match="beyond any JavaScript number") as info:
        decode_request("POST", "/mixpanel/track/", FORM, body, QUERY)
    assert info.value.status == 400
