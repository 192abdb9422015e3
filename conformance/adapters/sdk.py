"""Built-in adapters for released SDKs, each importing its SDK lazily (see issue 4).

Every adapter lives in its own module (``conformance._sdk_<vendor>``) that imports its SDK
only when an adapter is built, so this registry, and ``import conformance``, work with no
SDK installed. Each adapter points one long-lived SDK client at the loopback collector:
``collector.url`` if the caller serves one, else an :class:`~conformance.collector.http.HttpCollector`
the adapter starts itself and stops in ``shutdown()``.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    from conformance.adapters.protocol import AdapterInfo
    from conformance.collector.http import HttpCollector
    from conformance.collector.store import Collector


@attrs.frozen
class SdkAdapterSpec:
    """A built-in adapter for a real SDK, listed even when the SDK is not installed."""

    name: str
    kind: str
    profile: str
    module: str
    distribution: str
    description: str
    load: Callable[..., Any] = attrs.field(repr=False)


def _lazy(module: str, attr: str) -> Callable[..., Any]:
    """``load()`` imports ``conformance.<module>`` and returns the adapter class.

    Called with a collector (as the registry calls an adapter factory), it builds the
    adapter instead: ``load(collector)`` is ``load()(collector)``.
    """

    def load(*args: Any, **kwargs: Any) -> Any:
        cls = getattr(importlib.import_module(f"conformance.{module}"), attr)
        return cls(*args, **kwargs) if args or kwargs else cls

    load.__name__ = load.__qualname__ = f"load_{attr}"
    load.__doc__ = f"Import conformance.{module} and return {attr} (or build it from a collector)."
    return load


# ``module`` is the top-level import name: the registry asks importlib.util.find_spec, which
# raises (instead of answering None) for ``segment.analytics`` when ``segment`` is missing.
SDK_ADAPTERS: tuple[SdkAdapterSpec, ...] = (
    SdkAdapterSpec(
        name="sdk-segment", kind="server", profile="segment", module="segment",
        distribution="segment-analytics-python",
        description="segment-analytics-python Client in sync mode, posting /v1/batch.",
        load=_lazy("adapters.python.segment", "SegmentAdapter"),
    ),
    SdkAdapterSpec(
        name="sdk-rudderstack", kind="server", profile="rudderstack", module="rudderstack",
        distribution="rudder-sdk-python",
        description="rudder-sdk-python Client in sync mode, gzipped /v1/batch.",
        load=_lazy("adapters.python.rudderstack", "RudderStackAdapter"),
    ),
    SdkAdapterSpec(
        name="sdk-posthog", kind="server", profile="posthog", module="posthog",
        distribution="posthog",
        description="posthog Client in sync mode (capture v0, /batch/); distinct_id = user or anonymous id.",
        load=_lazy("adapters.python.posthog", "PostHogAdapter"),
    ),
    SdkAdapterSpec(
        name="sdk-mixpanel", kind="server", profile="mixpanel", module="mixpanel",
        distribution="mixpanel",
        description="mixpanel Mixpanel with a plain Consumer (/track, /engage); distinct_id = user or anonymous id.",
        load=_lazy("adapters.python.mixpanel", "MixpanelAdapter"),
    ),
    SdkAdapterSpec(
        name="sdk-amplitude", kind="server", profile="amplitude", module="amplitude",
        distribution="amplitude-analytics",
        description="amplitude-analytics Amplitude (/2/httpapi); anonymous id = device_id.",
        load=_lazy("adapters.python.amplitude", "AmplitudeAdapter"),
    ),
    SdkAdapterSpec(
        name="sdk-snowplow", kind="server", profile="snowplow", module="snowplow_tracker",
        distribution="snowplow-tracker",
        description="snowplow-tracker Tracker + Emitter(batch_size=1); self-describing events, uid/duid.",
        load=_lazy("adapters.python.snowplow", "SnowplowAdapter"),
    ),
)  # fmt: skip


# --- what every SDK adapter module shares -----------------------------------------------


def distribution_version(distribution: str) -> str:
    """The installed version of ``distribution``; raise naming it when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version(distribution)
    except PackageNotFoundError as exc:
        msg = f"the SDK distribution {distribution!r} is not installed; pip install {distribution}"
        raise ModuleNotFoundError(msg) from exc


def collector_url(collector: Collector) -> tuple[str, HttpCollector | None]:
    """``collector.url``, or the URL of a loopback HttpCollector started for it (then returned)."""
    if collector.url is not None:
        return collector.url.rstrip("/"), None
    from conformance.collector.http import HttpCollector  # noqa: PLC0415

    http = HttpCollector(collector)
    return http.start().rstrip("/"), http


class ServerSdkAdapter:
    """What the built-in server-SDK adapters share: no clients, and a collector they may own.

    A subclass sets ``_info`` and ``_http`` (from :func:`collector_url`) and implements the
    server operations and ``flush``. ``shutdown`` releases the SDK (a flush, unless the
    subclass overrides ``_release_sdk``) and then stops the collector the adapter started.
    """

    _info: AdapterInfo
    _http: HttpCollector | None

    @property
    def info(self) -> AdapterInfo:
        """What this adapter declares."""
        return self._info

    def open_client(self, storage_key: str) -> Any:
        """Not available: a server SDK has no clients."""
        msg = f"{self._info.name} is a server SDK; it has no client to open on {storage_key!r}"
        raise NotImplementedError(msg)

    def flush(self) -> None:
        """Deliver everything accepted (each subclass says how)."""
        raise NotImplementedError

    def shutdown(self) -> None:
        """Release the SDK; then stop the collector this adapter started, if any."""
        try:
            self._release_sdk()
        finally:
            if self._http is not None:
                self._http.stop()

    def _release_sdk(self) -> None:
        self.flush()
