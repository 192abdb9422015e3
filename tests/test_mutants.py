"""Tests for conformance.mutants (the registry, the family modules and the compatibility module)."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from types import ModuleType

import pytest

from conformance import Collector, Verdict, available_adapters
from conformance._requirements import BY_ID, REQUIREMENTS
from conformance.engine.settings import RunSettings
from conformance.mutants import MUTANTS, Mutant, client, delivery, server
from conformance.mutants.base import _MutantAdapter
from conformance.report.sweep import sweep_mutant

SCOPE_MACHINE = {"client": "client", "server": "server", "both": "delivery"}
"""Which requirement scope a mutant of each scope may break."""

FAMILIES: dict[ModuleType, str] = {client: "client", server: "server", delivery: "both"}
"""Each family module and the scope of every mutant in it."""

KNOWN_MISSES: dict[str, str] = {}
"""Mutants the default budget does not catch yet, with the reason; strict, so a fix shows."""

MUTANTS_DIR = Path(__file__).parent.parent / "conformance" / "mutants"


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


def test_registry_is_the_families_in_order() -> None:
    """MUTANTS is the client, then the server, then the delivery family, each in source order."""
    assert [*client.MUTANTS, *server.MUTANTS, *delivery.MUTANTS] == MUTANTS


@pytest.mark.parametrize("family", list(FAMILIES), ids=lambda f: f.__name__.rsplit(".", 1)[-1])
def test_each_family_holds_mutants_of_its_scope(family: ModuleType) -> None:
    """Every mutant in the client, server and delivery modules has that module's scope."""
    mutants: list[Mutant] = family.MUTANTS
    assert mutants
    assert {m.scope for m in mutants} == {FAMILIES[family]}


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_mutant_is_named_and_described(mutant: Mutant) -> None:
    """Each mutant is named mutant-<short-bug> and describes its bug in one sentence."""
    assert re.fullmatch(r"mutant-[a-z0-9]+(-[a-z0-9]+)+", mutant.name)
    assert mutant.bug.endswith(".")
    assert mutant.bug.count(". ") == 0


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_mutant_breaks_a_requirement_of_its_machine(mutant: Mutant) -> None:
    """Each mutant's primary requirement is registered, of any level, and checked by its scope's machine."""
    requirement = BY_ID.get(mutant.breaks)
    assert requirement is not None, f"{mutant.name} breaks unknown id {mutant.breaks!r}"
    assert requirement.scope.value == SCOPE_MACHINE[mutant.scope]


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_mutant_lists_its_knock_ons_once_in_registry_order(mutant: Mutant) -> None:
    """also_breaks names registered requirements, not the primary, each once, in registry order."""
    order = [r.id for r in REQUIREMENTS]
    assert all(r in BY_ID for r in mutant.also_breaks)
    assert mutant.breaks not in mutant.also_breaks
    assert list(mutant.also_breaks) == sorted(set(mutant.also_breaks), key=order.index)
    assert mutant.requirements == (mutant.breaks, *mutant.also_breaks)


def test_a_mutant_record_refuses_unknown_or_repeated_requirements() -> None:
    """Mutant() raises for an unknown id, or a knock-on that repeats the primary or itself."""
    args = ("mutant-x-y", "client", "A bug.", "client.payload.as-called", _MutantAdapter)
    for also in (("no.such.id",), ("client.payload.as-called",),
                 ("client.binding.at-call", "client.binding.at-call")):  # fmt: skip
        with pytest.raises(ValueError, match="mutant 'mutant-x-y'"):
            Mutant(*args, also_breaks=also)


def test_every_requirement_has_a_mutant() -> None:
    """Every registered requirement, MUST, SHOULD or MAY, is the primary requirement of a mutant."""
    primaries = {m.breaks for m in MUTANTS}
    assert [r.id for r in REQUIREMENTS if r.id not in primaries] == []


@pytest.mark.parametrize("mutant", MUTANTS, ids=lambda m: m.name)
def test_mutant_adapter_declares_its_bug(mutant: Mutant) -> None:
    """A mutant's adapter info names the mutant, its bug, its primary requirement and its profile."""
    info = mutant.factory(Collector()).info
    assert (info.name, info.description, info.expected_violation, info.profile) == (
        mutant.name,
        mutant.bug,
        mutant.breaks,
        mutant.profile,
    )
    assert info.is_mutant


@pytest.mark.parametrize("path", sorted(MUTANTS_DIR.glob("*.py")), ids=lambda p: p.name)
def test_mutants_use_only_public_simulator_api(path: Path) -> None:
    """No mutant module imports a private simulator module or reads a private attribute of another object."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            assert not re.search(r"(^|\.)_[a-z]", node.module), (
                f"{path.name}:{node.lineno} imports from {node.module}"
            )
        if isinstance(node, ast.Attribute) and node.attr.startswith("_") and not node.attr.startswith("__"):
            owner = node.value
            is_self = isinstance(owner, ast.Name) and owner.id in {"self", "cls"}
            assert is_self, f"{path.name}:{node.lineno} reads private attribute {node.attr!r}"


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
    """Under the default settings each mutant FAILs its primary requirement and nothing it does not list."""
    result = sweep_mutant(mutant, RunSettings())
    assert result.ok, f"{mutant.name} ({mutant.bug}): {result.problem()}"
    assert result.verdict == Verdict.FAIL.value
