"""Tests for conformance._requirements: the registry as data."""

from __future__ import annotations

import re

import pytest

from conformance import REQUIREMENTS, Level, get_requirement


def test_at_least_20_rules_with_unique_stable_ids() -> None:
    """The registry holds 20+ rules whose ids are unique and shaped scope.topic.rule."""
    ids = [r.id for r in REQUIREMENTS]
    assert len(ids) >= 20
    assert len(set(ids)) == len(ids)
    for rid in ids:
        assert re.fullmatch(r"(client|server|delivery)(\.[a-z0-9-]+)+", rid), rid


def test_every_rule_states_level_statement_and_source() -> None:
    """Each rule has an RFC 2119 level, a one-sentence statement and a source."""
    for r in REQUIREMENTS:
        assert isinstance(r.level, Level)
        assert r.statement.endswith(".")
        assert r.source


def test_seed_rules_are_present() -> None:
    """The seed's central rules are registered under their published ids."""
    for rid in ("client.anonymous-id.automatic", "client.identify.links-earlier-anonymous-events",
                "server.ids.at-least-one", "server.state.identify-changes-nothing"):
        assert get_requirement(rid).level is Level.MUST


def test_unknown_id_names_the_value_and_the_fix() -> None:
    """Looking up an unknown id names it, its type and the command that lists ids."""
    with pytest.raises(KeyError, match="'client.nope' of type str"):
        get_requirement("client.nope")


def test_readme_documents_every_capability_with_the_rules_it_gates() -> None:
    """README's capability table is exactly the generated one (names, promises, gated rules)."""
    from pathlib import Path

    from conformance.adapters.protocol import CAPABILITIES, capability_table

    readme = (Path(__file__).parent.parent / "README.md").read_text(encoding="utf-8")
    assert capability_table() in readme
    assert all(f"| `{name}` |" in capability_table() for name in CAPABILITIES)
