"""identity-conformance: drive an adapter-wrapped analytics SDK against the reference model.

Names are imported lazily, so ``import conformance`` (and the pytest plugin) stays cheap
until something is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance._adapter import (
        CAPABILITIES,
        Adapter,
        AdapterFactory,
        AdapterInfo,
        AdapterKind,
        ClientSession,
    )
    from conformance._api import run_conformance
    from conformance._collector import Collector
    from conformance._engine import RunSettings, render_reproducer, run
    from conformance._errors import (
        AdapterFailedError,
        ConformanceError,
        DeliveryFailedError,
        InvalidAdapterError,
        InvalidInputError,
        UnknownAdapterError,
    )
    from conformance._events import RequirementResult, RunFinished, Verdict
    from conformance._expected import ExpectedFailure, load_expected_failures
    from conformance._registry import available_adapters, load_adapter
    from conformance._replay import replay
    from conformance._requirements import REQUIREMENTS, Level, Requirement, get_requirement
    from conformance._violations import ConformanceFailure, Violation

__all__ = [
    "CAPABILITIES",
    "REQUIREMENTS",
    "Adapter",
    "AdapterFactory",
    "AdapterFailedError",
    "AdapterInfo",
    "AdapterKind",
    "ClientSession",
    "Collector",
    "ConformanceError",
    "ConformanceFailure",
    "DeliveryFailedError",
    "ExpectedFailure",
    "InvalidAdapterError",
    "InvalidInputError",
    "Level",
    "Requirement",
    "RequirementResult",
    "RunFinished",
    "RunSettings",
    "UnknownAdapterError",
    "Verdict",
    "Violation",
    "available_adapters",
    "get_requirement",
    "load_adapter",
    "load_expected_failures",
    "render_reproducer",
    "replay",
    "run",
    "run_conformance",
]


_LAZY = {
    "Adapter": "conformance._adapter",
    "AdapterFactory": "conformance._adapter",
    "AdapterFailedError": "conformance._errors",
    "AdapterInfo": "conformance._adapter",
    "AdapterKind": "conformance._adapter",
    "CAPABILITIES": "conformance._adapter",
    "ClientSession": "conformance._adapter",
    "Collector": "conformance._collector",
    "ConformanceError": "conformance._errors",
    "ConformanceFailure": "conformance._violations",
    "DeliveryFailedError": "conformance._errors",
    "ExpectedFailure": "conformance._expected",
    "InvalidAdapterError": "conformance._errors",
    "InvalidInputError": "conformance._errors",
    "Level": "conformance._requirements",
    "REQUIREMENTS": "conformance._requirements",
    "Requirement": "conformance._requirements",
    "RequirementResult": "conformance._events",
    "RunFinished": "conformance._events",
    "RunSettings": "conformance._engine",
    "UnknownAdapterError": "conformance._errors",
    "Verdict": "conformance._events",
    "Violation": "conformance._violations",
    "available_adapters": "conformance._registry",
    "get_requirement": "conformance._requirements",
    "load_adapter": "conformance._registry",
    "load_expected_failures": "conformance._expected",
    "render_reproducer": "conformance._engine",
    "replay": "conformance._replay",
    "run": "conformance._engine",
    "run_conformance": "conformance._api",
}


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version  # noqa: PLC0415

        return version("identity-conformance")
    module = _LAZY.get(name)
    if module is None:
        msg = f"module 'conformance' has no attribute {name!r}"
        raise AttributeError(msg)
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
