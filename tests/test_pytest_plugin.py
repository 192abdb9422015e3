"""Tests for conformance._pytest_plugin: the suite inside a vendor's own pytest."""

from __future__ import annotations

import subprocess
import sys

import pytest

pytest_plugins = ["pytester"]


def test_adapter_option_adds_one_item_per_requirement_for_the_reference(pytester: pytest.Pytester) -> None:
    """`--conformance-adapter reference` adds one item per requirement: 34 pass, alias skips."""
    pytester.makepyfile("def test_nothing():\n    pass\n")
    result = pytester.runpytest("--conformance-adapter", "reference", "-v")
    result.assert_outcomes(passed=34, skipped=1)
    result.stdout.fnmatch_lines(["*test_conformance?client.reset.forgets-user? PASSED*",
                                 "*test_conformance?client.alias.names-both-ids? SKIPPED*"])


def test_mutant_fails_exactly_its_requirements_and_junit_names_them(pytester: pytest.Pytester) -> None:
    """A mutant fails its primary requirement's item and only items of requirements it lists; JUnit names each."""
    import xml.etree.ElementTree as ET

    from conformance.mutants import MUTANTS

    mutant = next(m for m in MUTANTS if m.name == "mutant-reset-keeps-user")
    junit = pytester.path / "out.xml"
    result = pytester.runpytest("--conformance-adapter", mutant.name, f"--junitxml={junit}")
    failed = {case.get("name", "").removeprefix("test_conformance[").removesuffix("]")
              for case in ET.parse(junit).getroot().iter("testcase")  # noqa: S314  (our own file)
              if case.find("failure") is not None}  # fmt: skip
    assert mutant.breaks in failed
    assert failed <= set(mutant.requirements)
    result.stdout.fnmatch_lines(["*client.reset.forgets-user ?MUST? FAIL*", "*Reproducer:*",
                                 "*from conformance import replay*"])
    assert "def runtest" not in result.stdout.str()  # the finding, not the suite's source


def test_k_selects_one_requirement(pytester: pytest.Pytester) -> None:
    """`-k` picks requirement items by id, as for any test."""
    result = pytester.runpytest("--conformance-adapter", "mutant-reset-keeps-user",
                                "--conformance-fail-fast", "-k", "forgets-user")
    result.assert_outcomes(failed=1, deselected=33)


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


def test_example_db_option_saves_the_failing_examples_there(pytester: pytest.Pytester) -> None:
    """`--conformance-example-db DIR` keeps a mutant's failing examples in DIR for the next run or job."""
    database = pytester.path / "shared-db"
    result = pytester.runpytest("--conformance-adapter", "mutant-reset-keeps-user",
                                "--conformance-example-db", str(database), "-k", "reset",
                                "--conformance-max-examples", "15")  # the mutant shows at once
    assert result.ret == 1
    assert any(database.rglob("*"))


def test_several_adapters_run_once_each_across_xdist_workers(pytester: pytest.Pytester) -> None:
    """Repeated --conformance-adapter under `-n 2 --dist loadscope`: one worker per adapter.

    Each adapter's items sit under a node named after it, all on one worker (its suite runs
    once), and only the mutant's own requirements fail.
    """
    pytest.importorskip("xdist")
    import xml.etree.ElementTree as ET

    from conformance.mutants import MUTANTS

    mutant = next(m for m in MUTANTS if m.name == "mutant-reset-keeps-user")
    junit = pytester.path / "out.xml"
    result = pytester.runpytest_subprocess(
        "-p", "xdist", "-n", "2", "--dist", "loadscope", "--conformance-adapter", "reference",
        "--conformance-adapter", mutant.name, "--conformance-max-examples", "60", f"--junitxml={junit}", "-v",
    )  # fmt: skip
    workers: dict[str, set[str]] = {}
    for line in result.outlines:  # "[gw1] [  1%] PASSED ::reference::test_conformance[...]"
        if line.startswith("[gw") and "::test_conformance[" in line:
            adapter = line.split("::")[-2]
            workers.setdefault(adapter, set()).add(line.split("]", 1)[0])
    assert set(workers) == {"reference", mutant.name}
    assert all(len(ids) == 1 for ids in workers.values()), workers  # one worker per adapter
    cases = list(ET.parse(junit).getroot().iter("testcase"))  # noqa: S314  (our own file)
    failed = {(case.get("classname", "").lstrip("."), case.get("name"))
              for case in cases if case.find("failure") is not None}  # fmt: skip
    # The primary always; knock-ons as the examples reach them, never another requirement.
    assert (mutant.name, f"test_conformance[{mutant.breaks}]") in failed
    assert failed <= {(mutant.name, f"test_conformance[{r}]") for r in mutant.requirements}
    # 34 requirements each, alias skipped (the reference declares no alias capability)
    result.assert_outcomes(passed=2 * 33 - len(failed), skipped=2, failed=len(failed))


def test_expected_failures_for_an_adapter_not_in_the_run_is_a_usage_error(pytester: pytest.Pytester) -> None:
    """`--conformance-expected-failures NAME=FILE` naming no adapter of the run is a usage error.

    pytest exits 4, naming the value and the run's adapters.
    """
    result = pytester.runpytest("--conformance-adapter", "reference",
                                "--conformance-expected-failures", "sdk-segment=expected.toml")  # fmt: skip
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*'sdk-segment=expected.toml' names the adapter 'sdk-segment'*['reference']*"])
