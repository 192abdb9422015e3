"""Route each request to one vendor's decoder, by vendor prefix or, unprefixed, by path alone.

Decoding follows SEMANTICS.md section 5.8: refuse bodies over the size cap, gunzip when
``Content-Encoding: gzip``, then route on the path to one vendor decoder.

Every vendor is mounted under its name: ``/<vendor>/<path>`` is decoded only by that
vendor's :data:`VENDOR_ROUTES`, so a path two vendors share is unambiguous
(``/segment/v1/batch`` and ``/rudderstack/v1/batch``, Amplitude's ``/amplitude/batch`` and
PostHog's ``/posthog/batch/``), and the configuration stubs browser SDKs fetch exist only
there. Unprefixed paths are routed as before the mounts existed, by the path alone: every
event route of Segment (which RudderStack shares), PostHog, Amplitude, Mixpanel and
Snowplow, no stubs (:data:`COLLECTOR_PATHS`). Each event's ``source`` is the path as
requested, prefix included.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from types import MappingProxyType
from typing import Final

import attrs

from conformance._errors import ConformanceError, describe
from conformance.collector.wire import amplitude, mixpanel, posthog, segment, snowplow
from conformance.collector.wire.common import (
    MAX_BODY_BYTES,
    TEXT_REPLY,
    Decoded,
    ErrorReply,
    Request,
    Route,
    WireError,
    content_decode,
    json_error,
)

VENDOR_ROUTES: Final[Mapping[str, tuple[Route, ...]]] = MappingProxyType(
    {
        "segment": segment.SEGMENT_ROUTES,
        "rudderstack": segment.RUDDERSTACK_ROUTES,
        "posthog": posthog.ROUTES,
        "amplitude": amplitude.ROUTES,
        "mixpanel": mixpanel.ROUTES,
        "snowplow": snowplow.ROUTES,
    }
)
"""Each vendor's routes, relative to its mount ``/<vendor>``."""

VENDOR_ERRORS: Final[Mapping[str, ErrorReply]] = MappingProxyType(
    {
        "segment": segment.segment_error,
        "rudderstack": segment.rudderstack_error,
        "posthog": posthog.posthog_error,
        "amplitude": amplitude.amplitude_error,
        "mixpanel": mixpanel.mixpanel_error,
        "snowplow": json_error,  # the trackers read only the status
    }
)
"""How each vendor's API words an error reply (some SDKs parse it), by mount."""


def error_reply(path: str, status: int, reason: str) -> tuple[str, str]:
    """The body and content type of an error answer to ``path``: its vendor's shape, else :func:`json_error`."""
    vendor = path.lstrip("/").partition("/")[0]
    return VENDOR_ERRORS.get(vendor, json_error)(status, reason)


VENDORS: Final = tuple(VENDOR_ROUTES)
"""The vendor names a collector URL can be asked for (:func:`vendor_url`)."""

# RudderStack is left out: its event paths are Segment's, decoded the same way.
_UNPREFIXED_VENDORS: Final = ("segment", "posthog", "amplitude", "mixpanel", "snowplow")
_PLACEHOLDER: Final = re.compile(r"\{[A-Za-z_][A-Za-z0-9_]*\}")


class UnknownVendorError(ConformanceError, ValueError):
    """A vendor name that no wire format is mounted under; ``vendor`` is the value given."""

    def __init__(self, msg: str, vendor: object) -> None:
        super().__init__(msg, vendor)
        self.reason = msg
        self.vendor = vendor

    def __str__(self) -> str:
        """Show the message alone."""
        return self.reason


@attrs.frozen
class _Mount:
    """The routes under one mount: exact paths in a dict, placeholder paths as patterns."""

    exact: Mapping[str, Route]
    patterns: tuple[tuple[re.Pattern[str], Route], ...]

    @classmethod
    def of(cls, routes: Iterable[Route], what: str) -> _Mount:
        exact: dict[str, Route] = {}
        patterns: list[tuple[re.Pattern[str], Route]] = []
        for route in routes:
            if route.path in exact or any(r.path == route.path for _, r in patterns):
                msg = f"{what} declares the path {route.path!r} twice; each path has one route"
                raise ValueError(msg)
            if _PLACEHOLDER.search(route.path) is None:
                exact[route.path] = route
                continue
            parts = _PLACEHOLDER.split(route.path)
            pattern = "[^/]+".join(re.escape(part) for part in parts)
            patterns.append((re.compile(pattern), route))
        return cls(MappingProxyType(exact), tuple(patterns))

    @property
    def paths(self) -> list[str]:
        return sorted([*self.exact, *(route.path for _, route in self.patterns)])

    def find(self, path: str) -> Route | None:
        route = self.exact.get(path)
        if route is not None:
            return route
        for pattern, candidate in self.patterns:
            if pattern.fullmatch(path):
                return candidate
        return None


_MOUNTS: Final = MappingProxyType(
    {vendor: _Mount.of(routes, f"vendor {vendor!r}") for vendor, routes in VENDOR_ROUTES.items()}
)
_UNPREFIXED: Final = _Mount.of(
    (route for vendor in _UNPREFIXED_VENDORS for route in VENDOR_ROUTES[vendor] if route.ingests),
    "the unprefixed routes",
)

COLLECTOR_PATHS: Final = frozenset(_UNPREFIXED.exact)
"""Every unprefixed path :func:`decode_request` routes (SEMANTICS.md sections 5.8 and 6.2)."""


def check_vendor(vendor: object) -> str:
    """Return ``vendor`` if a wire format is mounted under it; else raise naming the choices."""
    if isinstance(vendor, str) and vendor in VENDOR_ROUTES:
        return vendor
    text = vendor if isinstance(vendor, str) else str(vendor)
    close = difflib.get_close_matches(text.strip().lower(), VENDORS, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    msg = (
        f"unknown vendor {describe(vendor)}; expected one of {', '.join(VENDORS)} (a vendor "
        f"name in lower case).{hint}"
    )
    raise UnknownVendorError(msg, vendor)


def vendor_url(base: str, vendor: str) -> str:
    """``<base>/<vendor>``: the URL under which only ``vendor``'s routes are decoded."""
    return f"{base.rstrip('/')}/{check_vendor(vendor)}"


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

    ``path`` is ``/<vendor>/<path>`` (decoded by that vendor's routes only) or an
    unprefixed path (:data:`COLLECTOR_PATHS`). ``headers`` are matched case-insensitively;
    ``query`` is the raw query string without the ``?``. An ``OPTIONS`` request (CORS
    preflight) to a known path decodes to no events and a 204 reply.
    """
    if len(body) > max_bytes:
        msg = f"request body is {len(body)} bytes; the collector accepts at most {max_bytes}"
        raise WireError(msg, 413)
    lowered = {key.lower(): value for key, value in headers.items()}
    body = content_decode(body, lowered.get("content-encoding", ""), max_bytes)
    route, relative = _route(path)
    method = method.upper()
    if method == "OPTIONS":
        return Decoded(events=(), status=204, content_type=TEXT_REPLY)
    if method not in route.methods:
        msg = (
            f"method {method!r} is not accepted on {path}; expected one of {sorted(route.methods)}"
        )
        raise WireError(msg, 405)
    media = lowered.get("content-type", "").split(";", 1)[0].strip().lower()
    return route.decode(Request(method, relative, media, body, query, max_bytes, path))


def _route(path: str) -> tuple[Route, str]:
    """The route for ``path`` and the path relative to its mount; 404 when there is none."""
    vendor, slash, rest = path[1:].partition("/")
    mount = _MOUNTS.get(vendor) if path.startswith("/") else None
    if mount is None:
        route = _UNPREFIXED.find(path)
        if route is None:
            msg = (
                f"unknown path {path!r}; expected one of the collector paths "
                f"{sorted(COLLECTOR_PATHS)}, or /<vendor>/<path> with a vendor in "
                f"{list(VENDORS)}"
            )
            raise WireError(msg, 404)
        return route, path
    relative = slash + rest
    route = mount.find(relative)
    if route is None:
        msg = (
            f"unknown path {path!r} for vendor {vendor!r}; expected /{vendor} followed by one "
            f"of {mount.paths}"
        )
        raise WireError(msg, 404)
    return route, relative
