"""Built-in adapters for released SDKs, each importing its SDK lazily (see issue 4)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import attrs


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


SDK_ADAPTERS: tuple[SdkAdapterSpec, ...] = ()
