"""Tests for the packaging of conformance and simulator: versions, facades, import weight."""

from __future__ import annotations

import importlib
import importlib.metadata
import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

import conformance
import simulator

DISTRIBUTION = "identity-conformance"
PACKAGES = [conformance, simulator]
ROOT = Path(__file__).resolve().parent.parent


def isort_key(name: str) -> tuple[int, str]:
    """Ruff's RUF022 order: SCREAMING_CASE constants, then CamelCase classes, then the rest."""
    if re.fullmatch(r"[A-Z][A-Z0-9_]*", name):
        return (0, name)
    if name[:1].isupper():
        return (1, name)
    return (2, name)


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_version_matches_the_installed_metadata(package: ModuleType) -> None:
    """__version__ is the installed distribution's version, resolved without a warning."""
    try:
        expected = importlib.metadata.version(DISTRIBUTION)
    except importlib.metadata.PackageNotFoundError:
        pytest.skip(f"{DISTRIBUTION} is not installed")
    assert package.__version__ == expected


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_an_unknown_attribute_raises_attribute_error(package: ModuleType) -> None:
    """A missing attribute raises AttributeError naming the module and the attribute."""
    with pytest.raises(AttributeError, match=rf"{package.__name__}.*'no_such_thing'"):
        _ = package.no_such_thing


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_all_is_sorted(package: ModuleType) -> None:
    """__all__ is sorted as ruff's RUF022 sorts it, with no duplicates."""
    names = list(package.__all__)
    assert names == sorted(names, key=isort_key)
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("package", PACKAGES, ids=lambda p: p.__name__)
def test_every_name_in_all_is_importable(package: ModuleType) -> None:
    """Every name in __all__ can be imported from the package."""
    fresh = importlib.import_module(package.__name__)
    for name in package.__all__:
        assert getattr(fresh, name) is not None, name
        exec(f"from {package.__name__} import {name}", {})  # noqa: S102  (the point of the test)


def test_loading_the_pytest_plugin_imports_neither_hypothesis_nor_the_machine() -> None:
    """Importing conformance._pytest_plugin leaves hypothesis and conformance.machines out of sys.modules."""
    if importlib.util.find_spec("conformance._pytest_plugin") is None:
        pytest.skip("conformance._pytest_plugin does not exist yet")
    code = (
        "import sys; import conformance._pytest_plugin; "
        "print(sorted(m for m in sys.modules if m == 'hypothesis' or m.startswith('hypothesis.') "
        "or m == 'conformance.machines'))"
    )
    path = [str(ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(path)}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, check=False,
        cwd=ROOT, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"
