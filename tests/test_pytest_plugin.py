"""Tests for conformance._pytest_plugin: the suite inside a vendor's own pytest."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest_plugins = ["pytester"]


def test_adapter_option_adds_a_passing_item_for_the_reference(pytester: pytest.Pytester) -> None:
    """`--conformance-adapter reference` adds one conformance item, which passes."""
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest("--conformance-adapter", "reference")
    result.assert_outcomes(passed=2)


def test_mutant_item_fails_naming_the_requirement(pytester: pytest.Pytester) -> None:
    """A mutant adapter makes the item fail with its requirement id and a reproducer."""
    result = pytester.runpytest("--conformance-adapter", "mutant-reset-keeps-user",
                                "--conformance-fail-fast")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*client.reset.forgets-user*", "*from conformance import replay*"])


def test_without_the_option_nothing_is_added(pytester: pytest.Pytester) -> None:
    """Without the option the plugin adds no item."""
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)


def test_loading_the_plugin_imports_neither_hypothesis_nor_the_machines() -> None:
    """Importing the plugin module keeps Hypothesis and the engine out of sys.modules."""
    code = (
        "import sys, conformance._pytest_plugin\n"
        "bad = [m for m in ('hypothesis', 'conformance.machines', 'conformance.engine.run') if m in sys.modules]\n"
        "print(bad)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
