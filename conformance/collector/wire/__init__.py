"""Decode every supported SDK wire format into canonical :class:`simulator.Event` records.

Pure functions only: no sockets, no logging, no clocks. :mod:`conformance.collector.http` feeds
each HTTP request to :func:`decode_request` and hands the events to the collector.

One module per vendor declares its routes as data and decodes its format:
:mod:`~conformance.collector.wire.segment` (Segment, and RudderStack, which sends the same
format), :mod:`~conformance.collector.wire.posthog`, :mod:`~conformance.collector.wire.amplitude`,
:mod:`~conformance.collector.wire.mixpanel` and :mod:`~conformance.collector.wire.snowplow`.
What they share (errors, routes, gzip, strict JSON, redaction) is in
:mod:`~conformance.collector.wire.common`, the field readers in
:mod:`~conformance.collector.wire.fields`, and :mod:`~conformance.collector.wire.routing`
mounts each vendor under ``/<vendor>`` and keeps the unprefixed paths working. Adding a wire
format is one module here plus its entry in ``routing.VENDOR_ROUTES``.

Canonical field choices (the integrator relies on these):

* ``timestamp`` is always epoch **milliseconds** (ISO-8601 strings are converted, naive
  ones read as UTC; Mixpanel ``time`` / ``$time`` values below 1e11 are read as seconds).
* ``traits`` are set only on IDENTIFY and GROUP events.
* ``properties`` are only the caller's properties: the documented vendor-automatic keys
  are dropped (:data:`POSTHOG_AUTOMATIC_PROPERTIES`, :data:`MIXPANEL_AUTOMATIC_PROPERTIES`),
  and so are the few keys that were moved into canonical fields (``alias`` of an alias
  event; ``$group_type``/``$group_key``/``$group_set`` of a PostHog group identify;
  ``$distinct_ids`` of a Mixpanel merge).
* ``source`` is the request path, vendor prefix included.
"""

from __future__ import annotations

from conformance.collector.wire.common import (
    MAX_BODY_BYTES,
    Decoded,
    Route,
    WireError,
    redact_secrets,
    stub,
)
from conformance.collector.wire.mixpanel import MIXPANEL_AUTOMATIC_PROPERTIES
from conformance.collector.wire.posthog import POSTHOG_AUTOMATIC_PROPERTIES
from conformance.collector.wire.routing import (
    COLLECTOR_PATHS,
    VENDOR_ROUTES,
    VENDORS,
    UnknownVendorError,
    check_vendor,
    decode_request,
    error_reply,
    vendor_url,
)

__all__ = [
    "COLLECTOR_PATHS",
    "MAX_BODY_BYTES",
    "MIXPANEL_AUTOMATIC_PROPERTIES",
    "POSTHOG_AUTOMATIC_PROPERTIES",
    "VENDORS",
    "VENDOR_ROUTES",
    "Decoded",
    "Route",
    "UnknownVendorError",
    "WireError",
    "check_vendor",
    "decode_request",
    "error_reply",
    "redact_secrets",
    "stub",
    "vendor_url",
]
