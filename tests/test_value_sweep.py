"""The value sweep: every small pool value no drawn step used runs as an explicit example."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from conformance import run
from conformance.engine.value_sweep import SWEEP_POOL_LIMIT, sweep_indexes, unseen_digits
from conformance.machines.strategies import Calls
from conformance.mutants import MUTANTS

FIELDS = {"user": ("1", "2", "3"), "key": ('"a"', '"b"'), "payload": tuple(str(i) for i in range(40))}


def test_unseen_digits_names_each_small_pools_unused_positions() -> None:
    """Positions are read digit by digit, first field least significant; big pools are not swept."""
    drawn = [0 + 3 * 1, 2]  # user 0 with key 1; user 2 with key 0
    assert unseen_digits(FIELDS, drawn) == {"user": [1], "key": []}
    assert len(FIELDS["payload"]) > SWEEP_POOL_LIMIT


def test_sweep_indexes_use_every_unseen_value_once_and_the_first_value_elsewhere() -> None:
    """Nothing drawn: the k-th index takes each field's k-th value, the first value where none is left."""
    calls = Calls(FIELDS)
    decoded = [calls.decode(i) for i in sweep_indexes(FIELDS, [])]
    assert [(d["user"], d["key"], d["payload"]) for d in decoded] == [(1, "a", 0), (2, "b", 0), (3, "a", 0)]


@given(st.sets(st.integers(0, 3 * 2 * 40 - 1), max_size=12))
def test_after_the_sweep_every_small_pool_value_has_been_used(drawn: set[int]) -> None:
    """Drawn steps plus the sweep's cover every value of every swept pool."""
    swept = sweep_indexes(FIELDS, drawn)
    assert unseen_digits(FIELDS, drawn | set(swept)) == {"user": [], "key": []}
    assert len(swept) == max(len(v) for v in unseen_digits(FIELDS, drawn).values())


def test_a_value_the_draws_miss_is_still_tried_and_caught() -> None:
    """Hashing email ids is caught although the default run's draws never pick the email id.

    Without the sweep this run passed server.ids.exactly-as-given: the email was one of ten
    ids and Hypothesis's 60 derandomized examples never chose it.
    """
    mutant = next(m for m in MUTANTS if m.name == "mutant-server-hashes-email-ids")
    result = run(mutant.factory)
    failed = {r.requirement: r for r in result.results if r.verdict.value == "fail"}
    assert "server.ids.exactly-as-given" in failed
    assert set(failed) <= set(mutant.requirements)  # its declared knock-on (both-link) may show too
    assert "Jane.Doe+test@Example.com" in (failed["server.ids.exactly-as-given"].reproducer or "")
