"""Tests for conformance.mutants.core."""

from __future__ import annotations

import re

import pytest

from conformance import Collector, Level, Verdict, available_adapters, load_adapter, run
from conformance._requirements import BY_ID
from conformance.mutants.core import MUTANTS, Mutant

SCOPE_MACHINE = {"client": "client", "server": "server", "both": "delivery"}
"""Which requirement scope a mutant of each scope may break."""

KNOWN_MISSES: dict[str, str] = {}
"""Mutants the default budget does not catch yet, with the reason; strict, so a fix shows."""


def _caught_params() -> list[object]:
    return [
        pytest.param(m, id=m.name, marks=pytest.mark.xfail(reason=KNOWN_MISSES[m.name]))
        if m.name in KNOWN_MISSES
        else pytest.param(m, id=m.name)
        for m in MUTANTS
    ]


def test_registry_has_at_least_25_uniquely_named_mutants() -> None:
    """The registry holds at least 25 mutants and no two share a name."""
    names = [m.name for m in MUTANTS]
    assert len(names) >= 25
    assert len(set(names)) == len(names)


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_mutant_is_named_and_described(mutant: Mutant) -> None:
    """Each mutant is named mutant-<short-bug> and describes its bug in one sentence."""
    assert re.fullmatch(r"mutant-[a-z0-9]+(-[a-z0-9]+)+", mutant.name)
    assert mutant.bug.endswith(".")
    assert mutant.bug.count(". ") == 0


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_mutant_breaks_a_known_must_requirement(mutant: Mutant) -> None:
    """Each mutant names a registered MUST requirement of the machine its scope drives."""
    requirement = BY_ID.get(mutant.breaks)
    assert requirement is not None, f"{mutant.name} breaks unknown id {mutant.breaks!r}"
    assert requirement.level is Level.MUST
    assert requirement.scope.value == SCOPE_MACHINE[mutant.scope]


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_mutant_adapter_declares_its_bug(mutant: Mutant) -> None:
    """A mutant's adapter info names the mutant, its bug and the requirement it breaks."""
    info = mutant.factory(Collector()).info
    assert (info.name, info.description, info.expected_violation) == (
        mutant.name,
        mutant.bug,
        mutant.breaks,
    )
    assert info.is_mutant


def test_known_misses_name_registered_mutants() -> None:
    """Every declared known miss names a registered mutant."""
    assert set(KNOWN_MISSES) <= {m.name for m in MUTANTS}


def test_available_adapters_lists_every_mutant() -> None:
    """available_adapters() lists each mutant with mutant=True and its expected violation."""
    entries = {e.name: e for e in available_adapters()}
    for mutant in MUTANTS:
        entry = entries[mutant.name]
        assert entry.mutant
        assert entry.expected_violation == mutant.breaks
        assert entry.description == mutant.bug


@pytest.mark.slow
@pytest.mark.parametrize("mutant", _caught_params())
def test_mutant_is_caught(mutant: Mutant) -> None:
    """Under the default settings each mutant fails its declared requirement, exit code 1."""
    finished = run(load_adapter(mutant.name), stop_on=frozenset({mutant.breaks}))
    verdicts = {r.requirement: r.verdict for r in finished.results}
    assert verdicts[mutant.breaks] is Verdict.FAIL, (
        f"{mutant.name} ({mutant.bug}) was not caught: {mutant.breaks} is "
        f"{verdicts[mutant.breaks].value}"
    )
    assert finished.exit_code == 1
