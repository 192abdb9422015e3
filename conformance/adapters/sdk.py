"""Built-in adapters for released SDKs: one declaration (:class:`SdkSpec`) per SDK.

Each SDK has one module in ``conformance/adapters/python/`` that declares ``SPEC`` (name,
kind, profile, distribution, import probe, pin, wire vendor, capabilities) and ``ADAPTER``
(its class). Everything else is derived from that one declaration: the catalogue entry and
``list`` output, the adapter's :class:`~conformance.AdapterInfo`, the SDK tests, and what
the ``sdk-<vendor>`` tox env installs and runs (``python -m conformance.adapters.python``).
Adapter modules import their SDK only when an adapter is built, so this registry, and
``import conformance``, work with no SDK installed. Each adapter points one long-lived SDK
client at the loopback collector: ``collector.url`` if the caller serves one, else an
:class:`~conformance.collector.http.HttpCollector` the adapter starts itself and stops in
``shutdown()``.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import pkgutil
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from conformance.adapters.protocol import EXIT_PROBE_DONE, AdapterInfo, AdapterKind, ServerCall

if TYPE_CHECKING:
    from conformance.collector.store import Collector


@attrs.frozen
class SdkProgram:
    """An adapter's calls written as the SDK's own code, for reproducers that need no suite.

    ``setup`` builds the client from ``URL`` (a variable the program defines); each call
    template is formatted with the ``repr`` of the adapter call's arguments (``event``,
    ``properties``, ``user_id``, ``anonymous_id``, ``traits``, ``previous_id``, and
    ``distinct_id``: see :meth:`render`); ``flush``
    and ``shutdown`` are statements. ``imports`` are the program's first lines.
    """

    imports: str
    setup: str
    track: str
    identify: str
    flush: str
    alias: str = ""
    shutdown: str = ""
    track_with_options: str = ""
    """``track`` with ``{timestamp}`` (a ``datetime``), ``{message_id}`` and ``{context}``, each
    ``None`` when the call did not give it (the program then needs ``import datetime``)."""
    identify_with_context: str = ""
    """``identify`` with the caller's ``{context}`` dict."""

    def render(self, name: str, arguments: dict[str, Any], names: Collection[str] = ()) -> str:
        """The ``name`` template formatted with the ``repr`` of ``arguments``.

        An argument in ``names`` is written as a variable of that name instead (the program
        binds it). ``{distinct_id}`` is the user id, else the anonymous id (the one-id SDKs'
        mapping), decided here so that the program's code compares no literals.
        """
        values = {k: k if k in names else repr(v) for k, v in arguments.items()}
        if "user_id" in arguments and "anonymous_id" in arguments:
            user_id = arguments["user_id"]
            values["distinct_id"] = repr(user_id if user_id is not None else arguments["anonymous_id"])
        return str(getattr(self, name)).format(**values)


@attrs.frozen
class SdkSpec:
    """The one declaration of a built-in SDK adapter."""

    name: str
    """The adapter name (``sdk-<vendor>``): catalogue entry, tox env, report directory."""
    kind: AdapterKind
    profile: str
    distribution: str
    """What pip installs."""
    import_name: str
    """The SDK's top-level import name, probed (without importing it) to tell if it is installed."""
    pin: str
    """The release the expected-failures file was written against (``tox -e <name>``)."""
    wire: str
    """The collector's wire vendor the SDK posts in."""
    capabilities: frozenset[str]
    description: str
    request_timeout: float | None = None
    """The request timeout the adapter gives the SDK (:attr:`AdapterInfo.request_timeout`)."""
    adapter: str = attrs.field(default="", repr=False)
    """``module:Class`` of the adapter, filled in by :func:`sdk_specs`."""
    program: SdkProgram | None = attrs.field(default=None, repr=False)
    """How the adapter's calls read as SDK code (the module's ``PROGRAM``), if it says."""

    @property
    def installed(self) -> bool:
        """Whether the SDK can be imported (checked without importing it)."""
        return importlib.util.find_spec(self.import_name) is not None

    @property
    def requirement(self) -> str:
        """The pinned pip requirement."""
        return f"{self.distribution}=={self.pin}"

    def info(self) -> AdapterInfo:
        """The adapter's declaration, with the installed SDK version."""
        return AdapterInfo(
            name=self.name, kind=self.kind, profile=self.profile, sdk_name=self.distribution,
            sdk_version=distribution_version(self.distribution),
            capabilities=self.capabilities, description=self.description,
            request_timeout=self.request_timeout,
        )  # fmt: skip

    def load(self, *args: Any, **kwargs: Any) -> Any:
        """The adapter class; called with a collector, the adapter built around it."""
        module, _, attr = self.adapter.partition(":")
        cls = getattr(importlib.import_module(module), attr)
        return cls(*args, **kwargs) if args or kwargs else cls


@functools.cache
def sdk_specs() -> tuple[SdkSpec, ...]:
    """Every module of ``conformance/adapters/python/``'s ``SPEC``, in a stable order."""
    import conformance.adapters.python as package  # noqa: PLC0415  (its modules import this one)

    specs = []
    for found in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: ORDER.get(m.name, 99)):
        if found.name.startswith("_"):
            continue
        module = importlib.import_module(f"{package.__name__}.{found.name}")
        spec: SdkSpec = module.SPEC
        adapter = f"{module.__name__}:{module.ADAPTER.__name__}"
        specs.append(attrs.evolve(spec, adapter=adapter, program=getattr(module, "PROGRAM", None)))
    return tuple(specs)


ORDER = {"segment": 0, "segment_background": 1, "rudderstack": 2, "rudderstack_module": 3, "posthog": 4,
         "posthog_background": 5, "posthog_contexts": 6, "mixpanel": 7, "mixpanel_buffered": 8, "amplitude": 9,
         "snowplow": 10, "snowplow_tracker_subject": 11}  # fmt: skip
"""The matrix's column order (each SDK's modes side by side); a new module sorts after these."""


def spec_named(name: str) -> SdkSpec:
    """The spec of the adapter called ``name``; raise naming the known ones."""
    from conformance._errors import UnknownAdapterError  # noqa: PLC0415

    for spec in sdk_specs():
        if spec.name == name:
            return spec
    known = ", ".join(s.name for s in sdk_specs())
    msg = f"no built-in SDK adapter is called {name!r}; known: {known}."
    raise UnknownAdapterError(msg)



# --- what every SDK adapter module shares -----------------------------------------------


def distribution_version(distribution: str) -> str:
    """The installed version of ``distribution``; raise naming it when it is not installed."""
    from importlib.metadata import PackageNotFoundError, version  # noqa: PLC0415

    try:
        return version(distribution)
    except PackageNotFoundError as exc:
        msg = f"the SDK distribution {distribution!r} is not installed; pip install {distribution}"
        raise ModuleNotFoundError(msg) from exc


def collector_url(collector: Collector, vendor: str | None = None) -> tuple[str, bool]:
    """The URL to point an SDK at (``vendor``'s mount), and whether this call started a server.

    ``collector.url_for`` serves a loopback HTTP front end when the caller serves none; the
    adapter that caused it closes it in ``shutdown()`` (the engine closes it too).
    """
    started = collector.url is None
    return collector.url_for(vendor).rstrip("/"), started


class ServerSdkAdapter:
    """What the built-in server-SDK adapters share: no clients, and a collector they may own.

    ``__init__`` points the adapter at the collector (``url``, from :func:`collector_url`)
    and calls ``_start_sdk()``, where a subclass imports its SDK and builds its one
    long-lived client; a subclass implements the server operations and ``flush``.
    ``shutdown`` releases the SDK (a flush, unless the subclass overrides ``_release_sdk``)
    and then stops the collector the adapter started.
    """

    _info: AdapterInfo
    _http: bool
    """Whether this adapter started the collector's HTTP front end (then it stops it)."""
    collector: Collector
    url: str
    """Where the SDK posts: the collector's mount for the spec's wire vendor."""
    SPEC: SdkSpec
    """The adapter's one declaration; ``info`` is derived from it."""

    def __init__(self, collector: Collector) -> None:
        self._info = self.SPEC.info()  # first: it names the distribution when it is missing
        self.collector = collector
        self.url, self._http = collector_url(collector, self.SPEC.wire)
        try:
            self._start_sdk()
        except BaseException:
            if self._http:  # nothing else will stop the front end this call started
                collector.close()
            raise

    def _start_sdk(self) -> None:
        """Import the SDK and build its client aimed at ``self.url`` (each subclass says how)."""
        raise NotImplementedError

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
            if self._http:
                self.collector.close()

    def _release_sdk(self) -> None:
        self.flush()

    def exit_program(self, calls: Sequence[ServerCall]) -> str:
        """``calls`` as the SDK's own code (the module's ``PROGRAM``), posting to this adapter's URL.

        A new client from ``PROGRAM.setup``, one ``PROGRAM.track`` per call, the done line,
        and nothing else: no flush, no shutdown (capability ``exit``).
        """
        program = spec_named(self.SPEC.name).program
        if program is None:
            msg = f"{self.SPEC.name} has no PROGRAM, so it cannot write an exit program; do not declare 'exit'"
            raise NotImplementedError(msg)
        lines = [program.imports, f"URL = {self.url!r}", program.setup]
        lines += [program.render("track", {"event": c.event, "properties": dict(c.properties),
                                           "user_id": c.user_id, "anonymous_id": c.anonymous_id})
                  for c in calls]  # fmt: skip
        lines.append(f"print({EXIT_PROBE_DONE!r}, flush=True)")
        return "\n".join(lines) + "\n"
