"""Tests for conformance.engine.expected: expected-failure files."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance import ExpectedFailure, InvalidInputError, load_expected_failures


def test_valid_file_loads(tmp_path: Path) -> None:
    """A file with requirement, reason, reproducer and url loads into records."""
    path = tmp_path / "x.toml"
    path.write_text(
        '[[expected]]\nrequirement = "server.ids.at-least-one"\nreason = "sends anyway"\n'
        'reproducer = "track(None)"\nurl = "https://example.invalid/1"\n', encoding="utf-8")
    assert load_expected_failures(path) == (
        ExpectedFailure("server.ids.at-least-one", "sends anyway", "track(None)",
                        "https://example.invalid/1"),
    )


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[expected]]\nrequirement = "x.y"\nreason = "r"\n', "unknown requirement 'x.y' of type str"),
        ('[[expected]]\nrequirement = "server.ids.at-least-one"\n', "needs a non-empty 'reason'"),
        ('[[expected]]\nrequirement = "server.ids.at-least-one"\nreason = "r"\nwhy = 1\n', "unknown keys ['why']"),
        ("expected = 3\n", "must be an array of tables"),
        ("not toml = = =\n", "cannot read expected-failures file"),
        ('[[expected]]\nrequirement = ["server.ids.at-least-one"]\nreason = "r"\n',
         "'requirement' must be one requirement id string (got ['server.ids.at-least-one'] of type list)"),
        ('[[expected]]\nrequirement = "server.ids.at-least-once"\nreason = "r"\n',
         "Did you mean 'server.ids.at-least-one'?"),
        ('[[expected]]\nrequirement = "server.ids.at-least-one"\nreason = "r"\nurl = 3\n',
         "'url' must be a string (got 3 of type int)"),
        ('[[expectd]]\nrequirement = "server.ids.at-least-one"\nreason = "r"\n',
         "unknown top-level keys ['expectd']"),
        ('[[expected]]\nrequirement = "server.ids.at-least-one"\nreason = "a"\n'
         '[[expected]]\nrequirement = "server.ids.at-least-one"\nreason = "b"\n',
         "entries 0 and 1 of .* both declare 'server.ids.at-least-one'"),
    ],
)
def test_bad_files_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    """Malformed files raise InvalidInputError naming the bad value and what is allowed."""
    path = tmp_path / "x.toml"
    path.write_text(text, encoding="utf-8")
    pattern = message.replace("[", r"\[").replace("]", r"\]").replace("(", r"\(").replace(")", r"\)")
    pattern = pattern.replace("?", r"\?")
    with pytest.raises(InvalidInputError, match=pattern):
        load_expected_failures(path)


def test_non_utf8_file_names_the_file(tmp_path: Path) -> None:
    """A file that is not UTF-8 raises InvalidInputError naming the file, not a bare UnicodeDecodeError."""
    path = tmp_path / "latin.toml"
    path.write_bytes('[[expected]]\nrequirement = "server.ids.at-least-one"\nreason = "caf\xe9"\n'.encode("latin-1"))
    with pytest.raises(InvalidInputError, match=r"latin\.toml' is not UTF-8 text"):
        load_expected_failures(path)


def test_file_without_entries_declares_nothing(tmp_path: Path) -> None:
    """A file holding only comments is valid and declares no expected failures."""
    path = tmp_path / "none.toml"
    path.write_text("# no known deviations\n", encoding="utf-8")
    assert load_expected_failures(path) == ()


def test_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    """A path that does not exist raises InvalidInputError naming the path."""
    with pytest.raises(InvalidInputError, match="nope.toml"):
        load_expected_failures(tmp_path / "nope.toml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[[expected]]\nrequirement = "server.ids.at-least-one"\nreason = "r"\nmatch = "(unclosed"\n',
         "'match' is not a valid regex"),
        ('[[expected]]\nrequirement = "server.ids.at-least-one"\nreason = "r"\nintermittent = "yes"\n',
         "'intermittent' must be true or false"),
        ('[[expected]]\nrequirement = "server.ids.at-least-one"\nreason = "r"\nchromium = "maybe"\n',
         "'chromium' must be one of confirmed, not-reproduced, not-checked"),
    ],
)
def test_bad_new_keys_name_the_problem(tmp_path: Path, text: str, message: str) -> None:
    """The match key must compile, intermittent must be a bool, chromium one of its three words."""
    path = tmp_path / "x.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(InvalidInputError, match=message):
        load_expected_failures(path)


def test_match_pins_the_deviation_not_only_the_requirement() -> None:
    """A declared failure covers only violations its match finds; another deviation under the same id fails."""
    from conformance.adapters.catalogue import load_adapter
    from conformance.engine.events import Verdict
    from conformance.engine.run import run

    adapter = load_adapter("mutant-server-accepts-no-ids")
    requirement = "server.ids.at-least-one"

    def verdict(match: str) -> Verdict:
        declared = (ExpectedFailure(requirement, "sends anyway", match=match),)
        result = run(adapter, expected_failures=declared)
        return next(r for r in result.results if r.requirement == requirement).verdict

    assert verdict("was accepted|still sent an event") is Verdict.XFAIL
    assert verdict("") is Verdict.XFAIL
    assert verdict("arrived under an earlier call's id") is Verdict.FAIL


def test_an_intermittent_entry_that_did_not_happen_is_a_pass_with_a_note() -> None:
    """An intermittent entry whose deviation did not occur in a run passes and says so; it is not stale."""
    from conformance.adapters.catalogue import load_adapter
    from conformance.engine.events import Verdict
    from conformance.engine.run import run

    declared = (ExpectedFailure("server.ids.at-least-one", "a race", intermittent=True),)
    result = run(load_adapter("reference"), expected_failures=declared)
    found = next(r for r in result.results if r.requirement == "server.ids.at-least-one")
    assert found.verdict is Verdict.PASS
    assert "did not happen in this run" in found.reason
