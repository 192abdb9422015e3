"""Tests for conformance.adapters.sdk and the SDK adapter modules in conformance/adapters/python/."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from typing import Any

import pytest

from conformance.adapters.protocol import AdapterInfo, AdapterKind
from conformance.adapters.sdk import ServerSdkAdapter, sdk_specs
from conformance.collector.http import HttpCollector
from conformance.collector.store import Collector
from simulator import Kind

ADAPTER_MODULES = (
    "conformance.adapters.python.segment",
    "conformance.adapters.python.segment_background",
    "conformance.adapters.python.rudderstack",
    "conformance.adapters.python.rudderstack_module",
    "conformance.adapters.python.posthog",
    "conformance.adapters.python.posthog_background",
    "conformance.adapters.python.posthog_contexts",
    "conformance.adapters.python.mixpanel",
    "conformance.adapters.python.mixpanel_buffered",
    "conformance.adapters.python.amplitude",
    "conformance.adapters.python.snowplow",
    "conformance.adapters.python.snowplow_tracker_subject",
)
SDK_IMPORT_NAMES = (
    "segment",
    "rudderstack",
    "posthog",
    "mixpanel",
    "amplitude",
    "snowplow_tracker",
)

# What one ``track("Signed Up#1", {"plan": "pro"}, user_id="u1", anonymous_id="a1")``
# decodes to at the collector, per adapter: the canonical id fields and their values.
EXPECTED_IDS: dict[str, dict[str, Any]] = {
    "sdk-segment": {"user_id": "u1", "anonymous_id": "a1"},
    "sdk-segment-background": {"user_id": "u1", "anonymous_id": "a1"},
    "sdk-rudderstack": {"user_id": "u1", "anonymous_id": "a1"},
    "sdk-rudderstack-module": {"user_id": "u1", "anonymous_id": "a1"},
    # One distinct id: the user id wins; the anonymous id has no field (module docstring).
    "sdk-posthog": {"distinct_id": "u1", "user_id": None, "anonymous_id": None},
    "sdk-posthog-background": {"distinct_id": "u1", "user_id": None, "anonymous_id": None},
    "sdk-posthog-contexts": {"distinct_id": "u1", "user_id": None, "anonymous_id": None},
    "sdk-mixpanel": {"distinct_id": "u1", "user_id": None, "anonymous_id": None},
    "sdk-mixpanel-buffered": {"distinct_id": "u1", "user_id": None, "anonymous_id": None},
    # The anonymous id is Amplitude's device id.
    "sdk-amplitude": {"user_id": "u1", "device_id": "a1", "anonymous_id": None},
    # Snowplow uid / duid.
    "sdk-snowplow": {"user_id": "u1", "anonymous_id": "a1"},
    "sdk-snowplow-tracker-subject": {"user_id": "u1", "anonymous_id": "a1"},
}


def test_each_adapter_module_imports_without_its_sdk() -> None:
    """Every adapter module imports, and imports no SDK, when no SDK can be imported."""
    program = textwrap.dedent(f"""
        import importlib, importlib.util, sys
        BLOCKED = {SDK_IMPORT_NAMES!r}

        class Hide:  # every finder answers "not installed" for the SDKs
            def __init__(self, inner):
                self.inner = inner
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    return None
                return self.inner.find_spec(name, path, target)
            def __getattr__(self, attr):
                return getattr(self.inner, attr)

        sys.meta_path[:] = [Hide(finder) for finder in sys.meta_path]
        assert importlib.util.find_spec("posthog") is None
        for module in {ADAPTER_MODULES!r}:
            importlib.import_module(module)
        import conformance
        names = [entry.name for entry in conformance.available_adapters()]
        leaked = sorted(m for m in sys.modules if m.split(".")[0] in BLOCKED)
        assert not leaked, leaked
        print(",".join(n for n in names if n.startswith("sdk-")))
    """)
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, check=False, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().split(",") == [spec.name for spec in sdk_specs()]


def test_sdk_adapters_lists_twelve_uniquely_named_server_adapters_over_six_sdks() -> None:
    """sdk_specs() has twelve adapters with unique names and classes, over six SDKs.

    An SDK run in a second mode (a background consumer, a module-level API, a buffered
    consumer, context or tracker-level identity) shares its first adapter's distribution, import name, pin and wire.
    """
    assert len(sdk_specs()) == 12
    assert len({spec.name for spec in sdk_specs()}) == 12
    assert len({spec.adapter for spec in sdk_specs()}) == 12
    assert len({spec.import_name for spec in sdk_specs()}) == 6
    by_distribution: dict[str, set[tuple[str, str, str]]] = {}
    for spec in sdk_specs():
        by_distribution.setdefault(spec.distribution, set()).add((spec.import_name, spec.pin, spec.wire))
    assert len(by_distribution) == 6
    assert all(len(shared) == 1 for shared in by_distribution.values()), by_distribution
    assert {spec.name for spec in sdk_specs()} == set(EXPECTED_IDS)
    assert {spec.kind for spec in sdk_specs()} == {"server"}
    assert all("." not in spec.import_name for spec in sdk_specs())


@pytest.mark.parametrize("spec", sdk_specs(), ids=lambda spec: spec.name)
def test_one_track_through_the_real_sdk_arrives_with_the_right_ids(spec: Any) -> None:
    """One track through the installed SDK reaches a loopback HttpCollector with its ids."""
    pytest.importorskip(spec.import_name)
    adapter_class = spec.load()
    collector = Collector()
    with HttpCollector(collector) as http:
        assert http.url is not None
        assert http.url.startswith("http://127.0.0.1:")
        adapter = adapter_class(collector)
        try:
            assert adapter.info.name == spec.name
            assert adapter.info.profile == spec.profile
            assert adapter.info.sdk_version[:1].isdigit()
            adapter.track("Signed Up#1", {"plan": "pro"}, user_id="u1", anonymous_id="a1")
            adapter.flush()
        finally:
            adapter.shutdown()
        events = collector.drain()
        records = http.requests
    assert len(events) == 1, events
    event = events[0]
    assert event.kind is Kind.TRACK
    assert event.properties == {"plan": "pro"}
    for field, value in EXPECTED_IDS[spec.name].items():
        assert getattr(event, field) == value, (field, event)
    assert all(record.status < 400 for record in records), records


@pytest.mark.parametrize("spec", [s for s in sdk_specs() if {"timestamp", "message-id"} <= s.capabilities],
                         ids=lambda spec: spec.name)  # fmt: skip
def test_a_track_with_a_timestamp_and_a_message_id_arrives_with_both(spec: Any) -> None:
    """track_with_options through the installed SDK: the event carries the call's time (ms) and message id."""
    from datetime import datetime, timezone

    pytest.importorskip(spec.import_name)
    collector = Collector()
    adapter = spec.load(collector)
    moment = datetime(2024, 2, 29, 23, 59, 59, 999000, tzinfo=timezone.utc)
    properties = {"plan": "pro"}
    try:
        adapter.track_with_options("Paid#1", properties, user_id="u1", anonymous_id=None, timestamp=moment,
                                   message_id=MESSAGE_ID)  # fmt: skip
        adapter.flush()
    finally:
        adapter.shutdown()
    [event] = collector.drain()
    assert (event.timestamp, event.message_id) == (1709251199999, MESSAGE_ID)
    assert properties == {"plan": "pro"}


MESSAGE_ID = "6f1c8e0b-4b0a-4c5e-9a51-2d3c4e5f6a7b"
"""A UUID: the one message id form every SDK keeps (PostHog replaces others, a pinned deviation)."""


@pytest.mark.parametrize("spec", sdk_specs(), ids=lambda spec: spec.name)
def test_an_adapter_without_a_collector_url_serves_one_and_stops_it(spec: Any) -> None:
    """Built on a Collector without a URL, the adapter serves one itself until shutdown."""
    pytest.importorskip(spec.import_name)
    collector = Collector()
    adapter = spec.load(collector)
    try:
        assert collector.url is not None
        assert collector.url.startswith("http://127.0.0.1:")
        with pytest.raises(NotImplementedError):
            adapter.open_client("device-0")
    finally:
        adapter.shutdown()
    assert collector.url is None


class _StoppedCollector:
    """Stands in for a Collector whose HTTP front end the adapter started; records its close."""

    stopped = False

    def close(self) -> None:
        self.stopped = True


class _FailingRelease(ServerSdkAdapter):
    def __init__(self, http: _StoppedCollector) -> None:
        self._info = AdapterInfo(name="sdk-fake", kind=AdapterKind.SERVER, profile="seed",
                                 sdk_name="fake", sdk_version="0")  # fmt: skip
        self._http = True
        self.collector = http  # type: ignore[assignment]

    def flush(self) -> None:
        raise RuntimeError("delivery failed")


def test_server_sdk_adapter_has_no_clients_and_stops_its_collector_even_when_release_fails() -> None:
    """open_client names the adapter; shutdown stops the collector it started although flush raised."""
    http = _StoppedCollector()
    adapter = _FailingRelease(http)
    with pytest.raises(NotImplementedError, match="sdk-fake is a server SDK"):
        adapter.open_client("device-0")
    with pytest.raises(RuntimeError, match="delivery failed"):
        adapter.shutdown()
    assert http.stopped


class _SdkThatWillNotStart(ServerSdkAdapter):
    SPEC = sdk_specs()[0]

    def _start_sdk(self) -> None:
        raise RuntimeError("bad config")


def test_an_adapter_whose_sdk_fails_to_start_stops_the_collector_it_served() -> None:
    """When building the SDK client raises, the HTTP front end the adapter started is stopped."""
    pytest.importorskip(_SdkThatWillNotStart.SPEC.import_name)
    collector = Collector()
    with pytest.raises(RuntimeError, match="bad config"):
        _SdkThatWillNotStart(collector)
    assert collector.url is None


# -- one declaration per SDK ---------------------------------------------------------------------
def _tox_sdk_names() -> dict[str, set[str]]:
    """The SDK env names tox.ini lists in each of the places it must list them."""
    import configparser
    import re
    from pathlib import Path

    text = (Path(__file__).parent.parent / "tox.ini").read_text(encoding="utf-8")
    config = configparser.ConfigParser(interpolation=None)
    config.read_string(text)

    def expand(value: str) -> set[str]:
        names = set()
        for group in re.findall(r"sdk-\{([^}]*)\}", value):
            names |= {f"sdk-{v.strip()}" for v in group.split(",")}
        names |= set(re.findall(r"sdk-[a-z]+(?![a-z{-])", value))
        return names

    section = next(s for s in config.sections() if s.startswith("testenv:sdk-"))
    return {
        "envlist": expand(config["tox"]["envlist"]),
        "labels": expand(config["tox"]["labels"].split("=", 1)[1]),
        "section": expand(section),
        "matrix depends": expand(config["testenv:matrix"]["depends"]),
    }


def test_tox_lists_exactly_the_declared_sdks_everywhere() -> None:
    """Every place tox.ini names SDK envs names exactly the adapters declared by SPECs."""
    declared = {spec.name for spec in sdk_specs()}
    for place, names in _tox_sdk_names().items():
        assert names == declared, place


@pytest.mark.parametrize("spec", sdk_specs(), ids=lambda spec: spec.name)
def test_each_declared_sdk_has_a_pin_and_an_expected_failures_file(spec: Any) -> None:
    """A SPEC pins a release, names a known wire vendor and has an expected-failures file."""
    from pathlib import Path

    from conformance.engine.expected import load_expected_failures

    assert spec.pin[:1].isdigit()
    assert spec.requirement == f"{spec.distribution}=={spec.pin}"
    assert spec.wire in {"segment", "rudderstack", "posthog", "mixpanel", "amplitude", "snowplow"}
    path = Path(__file__).parent.parent / "expected-failures" / f"{spec.name}.toml"
    load_expected_failures(path)  # parses, with known ids only


@pytest.mark.parametrize("spec", sdk_specs(), ids=lambda spec: spec.name)
def test_adapter_info_is_derived_from_the_spec(spec: Any) -> None:
    """The adapter's info repeats its SPEC: name, kind, profile, capabilities, distribution."""
    pytest.importorskip(spec.import_name)
    adapter = spec.load(Collector())
    try:
        info = adapter.info
        assert (info.name, info.kind, info.profile, info.capabilities, info.sdk_name) == (
            spec.name, spec.kind, spec.profile, spec.capabilities, spec.distribution)
    finally:
        adapter.shutdown()


def test_the_env_runner_refuses_an_unknown_env_with_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """`python -m conformance.adapters.python sdk-nope` exits 2 naming the known adapters."""
    from conformance.adapters.python.__main__ import main

    assert main(["sdk-nope"]) == 2
    assert "sdk-segment" in capsys.readouterr().err


def test_a_module_level_adapter_opened_inside_another_leaves_the_outer_one_working() -> None:
    """rudder-sdk-python's module client is process-wide: a nested adapter restores the outer one's.

    The suite opens a second adapter (to minimize a reproducer) while the first is open; the
    first one's later calls must still reach its own collector, not the closed one.
    """
    pytest.importorskip("rudderstack")
    from conformance.adapters.python.rudderstack_module import ADAPTER

    outer_collector, inner_collector = Collector(), Collector()
    outer = ADAPTER(outer_collector)
    try:
        outer.track("before", {}, user_id="u1", anonymous_id=None)
        inner = ADAPTER(inner_collector)
        try:
            inner.track("inner", {}, user_id="u2", anonymous_id=None)
        finally:
            inner.shutdown()
        outer.track("after", {}, user_id="u1", anonymous_id=None)
        outer.flush()
    finally:
        outer.shutdown()
    assert sorted(e.name for e in outer_collector.drain()) == ["after", "before"]
    assert [e.name for e in inner_collector.drain()] == ["inner"]


@pytest.mark.parametrize("spec", [s for s in sdk_specs() if s.name in {"sdk-rudderstack", "sdk-segment",
                                                                       "sdk-posthog", "sdk-mixpanel"}],
                         ids=lambda spec: spec.name)  # fmt: skip
def test_a_sync_sdk_told_of_an_outage_raises_its_own_api_error(spec: Any) -> None:
    """During an outage a synchronous SDK's track raises its own error type, not a parsing crash.

    The collector answers in each vendor's error shape, so what the caller sees is what the
    vendor's API makes the SDK raise (rudder-sdk-python raised ``KeyError: 'code'`` when the
    collector answered every vendor in one JSON shape).
    """
    pytest.importorskip(spec.import_name)
    collector = Collector()
    with HttpCollector(collector):
        adapter = spec.load()(collector)
        try:
            collector.outage(["503"] * 20)
            with pytest.raises(Exception) as raised:  # each SDK has its own error type
                adapter.track("Outage#1", {}, user_id="u1", anonymous_id="a1")
            collector.recover()
        finally:
            adapter.shutdown()
    assert not isinstance(raised.value, (KeyError, ValueError, TypeError)), repr(raised.value)
    assert "outage" in str(raised.value), repr(raised.value)
