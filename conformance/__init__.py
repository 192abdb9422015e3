"""identity-conformance: drive an adapter-wrapped analytics SDK against the reference model.

Names are imported lazily, so ``import conformance`` (and the pytest plugin) stays cheap
until something is used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from conformance._api import run_conformance
    from conformance._errors import (
        AdapterFailedError,
        ConformanceError,
        DeliveryFailedError,
        InvalidAdapterError,
        InvalidInputError,
        UnknownAdapterError,
    )
    from conformance._requirements import REQUIREMENTS, Level, Requirement, get_requirement
    from conformance._violations import ConformanceFailure, Violation
    from conformance.adapters.catalogue import available_adapters, load_adapter
    from conformance.adapters.protocol import (
        CAPABILITIES,
        Adapter,
        AdapterFactory,
        AdapterInfo,
        AdapterKind,
        ClientSession,
    )
    from conformance.collector.store import Collector
    from conformance.engine.events import RequirementResult, RunFinished, Verdict
    from conformance.engine.expected import ExpectedFailure, load_expected_failures
    from conformance.engine.replay import replay
    from conformance.engine.run import run
    from conformance.engine.settings import RunSettings
    from conformance.engine.traces import render_reproducer

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
    "Adapter": "conformance.adapters.protocol",
    "AdapterFactory": "conformance.adapters.protocol",
    "AdapterFailedError": "conformance._errors",
    "AdapterInfo": "conformance.adapters.protocol",
    "AdapterKind": "conformance.adapters.protocol",
    "CAPABILITIES": "conformance.adapters.protocol",
    "ClientSession": "conformance.adapters.protocol",
    "Collector": "conformance.collector.store",
    "ConformanceError": "conformance._errors",
    "ConformanceFailure": "conformance._violations",
    "DeliveryFailedError": "conformance._errors",
    "ExpectedFailure": "conformance.engine.expected",
    "InvalidAdapterError": "conformance._errors",
    "InvalidInputError": "conformance._errors",
    "Level": "conformance._requirements",
    "REQUIREMENTS": "conformance._requirements",
    "Requirement": "conformance._requirements",
    "RequirementResult": "conformance.engine.events",
    "RunFinished": "conformance.engine.events",
    "RunSettings": "conformance.engine.settings",
    "UnknownAdapterError": "conformance._errors",
    "Verdict": "conformance.engine.events",
    "Violation": "conformance._violations",
    "available_adapters": "conformance.adapters.catalogue",
    "get_requirement": "conformance._requirements",
    "load_adapter": "conformance.adapters.catalogue",
    "load_expected_failures": "conformance.engine.expected",
    "render_reproducer": "conformance.engine.traces",
    "replay": "conformance.engine.replay",
    "run": "conformance.engine.run",
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
