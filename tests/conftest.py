"""Hypothesis profiles for the test suite: ``dev`` (default), ``ci`` and ``nightly``.

Pick one with ``HYPOTHESIS_PROFILE``; tox sets ``ci``, which is derandomized and keeps no
example database, so a CI verdict is the same on every run.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from hypothesis import settings

if TYPE_CHECKING:
    import pytest

settings.register_profile("dev", max_examples=50)
settings.register_profile(
    "ci", derandomize=True, database=None, deadline=None, max_examples=50, print_blob=True
)
settings.register_profile("nightly", max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "dev"))


def pytest_configure(config: pytest.Config) -> None:
    """Ignore one third-party deprecation that would hide every Hypothesis failure.

    When a ``@given`` test fails, Hypothesis imports libcst to print an explicit-example
    patch; libcst 1.0 uses ``mypy_extensions.TypedDict``, deprecated in mypy_extensions
    1.1. Under ``filterwarnings = error`` that turns the failure report into an
    INTERNALERROR that shows no falsifying example.
    """
    config.addinivalue_line(
        "filterwarnings", "ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning"
    )
