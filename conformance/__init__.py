"""identity-conformance: drive an adapter-wrapped analytics SDK against the reference model."""

from __future__ import annotations

from typing import Any

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


def __getattr__(name: str) -> Any:
    if name == "__version__":
        from importlib.metadata import version  # noqa: PLC0415

        return version("identity-conformance")
    msg = f"module 'conformance' has no attribute {name!r}"
    raise AttributeError(msg)
