"""Tests for conformance.engine.run: verdicts, exit codes and ERROR handling."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest

from conformance import (
    AdapterFailedError,
    Collector,
    ExpectedFailure,
    InvalidAdapterError,
    InvalidInputError,
    RunSettings,
    Verdict,
    load_adapter,
    run,
)
from conformance.adapters.reference import ReferenceAdapter
from simulator import PROFILES

FAST = RunSettings(max_examples=30, step_count=15)


def _verdicts(result: Any) -> dict[str, Verdict]:
    return {r.requirement: r.verdict for r in result.results}


@pytest.mark.parametrize("profile", sorted(PROFILES))
def test_reference_passes_under_every_profile(profile: str) -> None:
    """The reference SDK gets exit code 0 and no FAIL or ERROR verdict under each profile."""
    result = run(load_adapter("reference", profile), profile=profile)
    bad = {k: v for k, v in _verdicts(result).items() if v in (Verdict.FAIL, Verdict.ERROR)}
    assert bad == {}
    assert result.exit_code == 0


def test_every_applicable_requirement_is_exercised() -> None:
    """With the default budget every non-skipped requirement is checked at least once."""
    result = run(load_adapter("reference", "segment"), profile="segment")
    for r in result.results:
        assert r.verdict is Verdict.SKIP or r.checks > 0, r.requirement


def test_mutant_fails_with_its_requirement_and_exit_code_1() -> None:
    """A planted reset bug is reported as a FAIL of client.reset.forgets-user, exit code 1."""
    result = run(load_adapter("mutant-reset-keeps-user"),
                 stop_on=frozenset({"client.reset.forgets-user"}))
    assert _verdicts(result)["client.reset.forgets-user"] is Verdict.FAIL
    assert result.exit_code == 1
    failing = next(r for r in result.results if r.requirement == "client.reset.forgets-user")
    assert failing.reproducer is not None
    assert "('reset', {'device':" in failing.reproducer


def test_expected_failure_turns_fail_into_xfail_and_stale_one_fails_the_run() -> None:
    """A declared failure that happens is XFAIL; a declared failure that passes is XPASS, exit 1."""
    declared = [ExpectedFailure("client.reset.forgets-user", "known bug")]
    result = run(load_adapter("mutant-reset-keeps-user"),
                 expected_failures=declared, stop_on=frozenset({"client.reset.forgets-user"}))
    assert _verdicts(result)["client.reset.forgets-user"] is Verdict.XFAIL
    # The default budget: a smaller one may never reach identify-then-reset, which is ERROR.
    stale = run(load_adapter("reference"), expected_failures=declared)
    assert _verdicts(stale)["client.reset.forgets-user"] is Verdict.XPASS
    assert stale.exit_code == 1


class _Crashing(ReferenceAdapter):
    def track(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")


class _Hanging(ReferenceAdapter):
    def flush(self) -> None:
        time.sleep(30)


def test_crashing_adapter_is_an_error_never_a_pass() -> None:
    """An adapter whose server track raises gets ERROR verdicts and exit code 1."""
    result = run(_Crashing, run_settings=FAST)
    verdicts = _verdicts(result)
    assert verdicts["server.ids.exactly-as-given"] is Verdict.ERROR
    assert result.exit_code == 1


def test_hanging_adapter_times_out_into_an_error() -> None:
    """A flush that hangs past the per-step timeout becomes an ERROR, not a hang."""
    settings = RunSettings(max_examples=2, step_count=3, step_timeout=0.3)
    result = run(_Hanging, run_settings=settings)
    assert Verdict.ERROR in set(_verdicts(result).values())
    assert result.exit_code == 1


def test_factory_returning_garbage_is_rejected() -> None:
    """A factory that does not return an Adapter raises InvalidAdapterError naming the value."""
    with pytest.raises(InvalidAdapterError, match="42 of type int"):
        run(lambda collector: 42)


def test_non_callable_factory_is_rejected() -> None:
    """Passing an instance instead of a factory names its type and the fix."""
    with pytest.raises(InvalidAdapterError, match="Pass the class itself"):
        run("reference")  # type: ignore[arg-type]


def test_factory_that_raises_is_an_adapter_error() -> None:
    """A factory that crashes is reported as AdapterFailedError."""

    def broken(collector: Collector) -> Any:
        raise OSError("cannot connect")

    with pytest.raises(AdapterFailedError, match="cannot connect"):
        run(broken)


@pytest.mark.parametrize("bad", [0, -1, "10", 1.5])
def test_bad_settings_name_the_value(bad: object) -> None:
    """RunSettings rejects a non-positive or non-int budget, naming value and type."""
    with pytest.raises(InvalidInputError, match=type(bad).__name__):
        RunSettings(max_examples=bad)  # type: ignore[arg-type]


@pytest.mark.parametrize("bad", [0, -2.5, "10", True, float("inf"), float("nan")])
def test_bad_step_timeout_names_the_value(bad: object) -> None:
    """RunSettings rejects a step timeout that is not a positive, finite number, naming value and type."""
    with pytest.raises(InvalidInputError, match=f"step_timeout .*{type(bad).__name__}"):
        RunSettings(step_timeout=bad)  # type: ignore[arg-type]


def test_runs_are_reproducible() -> None:
    """Two derandomized runs of a mutant give the same verdicts and the same reproducer."""
    one = run(load_adapter("mutant-reset-keeps-user"), run_settings=FAST,
              stop_on=frozenset({"client.reset.forgets-user"}))
    two = run(load_adapter("mutant-reset-keeps-user"), run_settings=FAST,
              stop_on=frozenset({"client.reset.forgets-user"}))
    assert one.exit_code == 1
    assert _verdicts(one) == _verdicts(two)
    assert [r.reproducer for r in one.results] == [r.reproducer for r in two.results]


def test_an_error_of_any_machine_reaches_the_requirements_it_covers() -> None:
    """Errors are keyed by machine name: a machine of a new name still turns its scopes ERROR."""
    from conformance.collector.store import Collector
    from conformance.engine.harness import Harness
    from conformance.engine.verdicts import decide
    from simulator import get_profile

    collector = Collector()
    harness = Harness(ReferenceAdapter(collector), collector, get_profile("seed"))
    results = decide(harness, {}, {}, {"browser": "the browser machine crashed"}, (),
                     covers={"browser": frozenset({"client", "delivery"})})
    verdicts = {r.requirement: (r.verdict, r.reason) for r in results}
    assert verdicts["client.reset.forgets-user"] == (Verdict.ERROR, "the browser machine crashed")
    assert verdicts["delivery.exactly-once"] == (Verdict.ERROR, "the browser machine crashed")
    assert verdicts["server.ids.at-least-one"][0] is Verdict.ERROR  # never exercised
    assert "never exercised" in verdicts["server.ids.at-least-one"][1]


def test_a_server_only_adapter_needs_no_open_client() -> None:
    """An adapter declared as a server SDK runs without an open_client method."""
    import attrs

    class ServerOnly:
        def __init__(self, collector: Collector) -> None:
            self.inner = ReferenceAdapter(collector)
            self.info = attrs.evolve(self.inner.info, kind=self.inner.info.kind.SERVER)
            self.track, self.identify, self.alias = self.inner.track, self.inner.identify, self.inner.alias
            self.flush, self.shutdown = self.inner.flush, self.inner.shutdown
            self.exit_program = self.inner.exit_program
            self.track_with_options = self.inner.track_with_options
            self.identify_with_context = self.inner.identify_with_context
            self.track_async = self.inner.track_async

    result = run(ServerOnly, run_settings=FAST)
    assert result.exit_code == 0
    assert _verdicts(result)["client.reset.forgets-user"] is Verdict.SKIP


def test_an_adapter_declaring_identify_context_without_its_method_is_refused() -> None:
    """Capability ``identify-context`` needs ``identify_with_context``: a usage error naming it, not an ERROR later."""

    class NoIdentifyContext(ReferenceAdapter):
        identify_with_context = None  # type: ignore[assignment]

    with pytest.raises(InvalidAdapterError, match="missing: identify_with_context"):
        run(NoIdentifyContext, run_settings=FAST)


def test_a_client_only_adapter_without_open_client_is_refused() -> None:
    """A client SDK adapter with no open_client is a usage error naming what is missing."""
    import attrs

    class NoClients:
        def __init__(self, collector: Collector) -> None:
            inner = ReferenceAdapter(collector)
            self.info = attrs.evolve(inner.info, kind=inner.info.kind.CLIENT)
            self.flush, self.shutdown = inner.flush, inner.shutdown

    with pytest.raises(InvalidAdapterError, match="missing: open_client"):
        run(NoClients, run_settings=FAST)


class _RenamedReference(ReferenceAdapter):
    """The reference SDK under a name no registry knows, broken so that a reproducer is written."""

    def __init__(self, collector: Collector) -> None:
        import attrs

        super().__init__(collector)
        self._info = attrs.evolve(self._info, name="acme")

    def track(self, *args: Any, **kwargs: Any) -> None:
        raise RuntimeError("boom")


def test_a_reproducer_names_a_module_attr_adapter_so_replay_can_load_it() -> None:
    """An adapter outside the registry is named by module:attr in its reproducer and trace."""
    result = run(_RenamedReference, run_settings=FAST)
    reproducers = [r.reproducer for r in result.results if r.reproducer]
    assert reproducers
    assert "adapter='test_engine:_RenamedReference'" in reproducers[0]


def test_reproducers_are_minimal_and_replay_to_the_same_violation() -> None:
    """A reproducer keeps only the steps the finding needs, and replaying it gives the same violation."""
    from conformance import replay

    result = run(load_adapter("mutant-reset-keeps-user"),
                 stop_on=frozenset({"client.reset.forgets-user"}))
    found = next(r for r in result.results if r.requirement == "client.reset.forgets-user")
    assert found.trace is not None
    rules = [s["rule"] for s in found.trace["steps"] if not s.get("made_by")]
    assert rules == ["identify", "reset"], rules  # nothing that changes nothing
    again = replay(adapter="mutant-reset-keeps-user", steps=found.trace["steps"],
                   profile=found.trace["profile"], machine=found.trace["machine"])
    mine = [v for v in again if v.requirement == "client.reset.forgets-user"]
    assert [(v.message, v.step) for v in mine] == [(v.message, v.step) for v in found.violations]
    assert "closing probe event of device-0" in found.violations[0].message


def test_state_coverage_names_each_identity_state_and_step_reached() -> None:
    """A run reports, per machine, the identity states reached and what each step did there."""
    result = run(load_adapter("reference", "segment"), profile="segment")
    client, server = result.state_coverage["client"], result.state_coverage["server"]
    for key in ("new device: track", "anonymous: identify", "identified: reset",
                "identified: identify another user", "anonymous after reset: track"):
        assert client.get(key, 0) > 0, key
    assert server.get("after an identify: track with user id and anonymous id", 0) > 0
    assert server.get("no identify yet: track_without_ids with no id", 0) > 0
    assert all(n > 0 for counts in result.state_coverage.values() for n in counts.values())


def _assert_fails_again(first: Any, again: Any) -> None:
    """Both runs fail the mutant's primary requirement, and only requirements it declares."""
    from conformance.mutants import MUTANTS

    mutant = next(m for m in MUTANTS if m.name == "mutant-reset-keeps-user")

    def failed(result: Any) -> set[str]:
        return {r for r, v in _verdicts(result).items() if v is Verdict.FAIL}

    for result in (first, again):
        assert mutant.breaks in failed(result)
        assert failed(result) <= set(mutant.requirements)


def test_an_example_database_keeps_failures_for_the_next_run(tmp_path: Any) -> None:
    """With example_db the run is seeded, saves its failing examples, and a rerun fails again.

    Which of the mutant's knock-ons each run reaches depends on its examples; the primary
    requirement fails in both.
    """
    settings = RunSettings(max_examples=15, step_count=15, example_db=str(tmp_path / "db"))
    first = run(load_adapter("mutant-reset-keeps-user"), run_settings=settings)
    assert any((tmp_path / "db").rglob("*")), "nothing was saved"
    again = run(load_adapter("mutant-reset-keeps-user"), run_settings=settings)
    _assert_fails_again(first, again)
    assert first.provenance["settings"]["example_db"] == str(tmp_path / "db")


def test_an_example_database_that_is_a_file_is_refused(tmp_path: Any) -> None:
    """example_db naming a file (or not a str) raises, naming the value and what to pass."""
    afile = tmp_path / "db"
    afile.write_text("")
    for bad in (str(afile), "", 3):
        with pytest.raises(InvalidInputError, match="example_db must name a directory or a redis:// URL"):
            RunSettings(example_db=bad)  # type: ignore[arg-type]


def test_a_redis_example_database_keeps_failures_for_the_next_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """example_db='redis://...' keeps failing examples in Redis (here a fakeredis server) for a rerun."""
    fakeredis = pytest.importorskip("fakeredis")
    import redis

    server = fakeredis.FakeServer()
    monkeypatch.setattr(redis.Redis, "from_url", classmethod(lambda cls, url: fakeredis.FakeRedis(server=server)))
    settings = RunSettings(max_examples=15, step_count=15, example_db="redis://localhost:6379/0")
    first = run(load_adapter("mutant-reset-keeps-user"), run_settings=settings)
    kept = fakeredis.FakeRedis(server=server).keys(b"identity-conformance:*")
    assert kept, "nothing was saved"
    again = run(load_adapter("mutant-reset-keeps-user"), run_settings=settings)
    _assert_fails_again(first, again)


def test_a_redis_example_database_without_the_redis_package_names_what_to_install(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A redis:// example_db with redis-py missing raises InvalidInputError saying pip install redis."""
    import sys

    from conformance.engine.settings import example_database

    monkeypatch.setitem(sys.modules, "redis", None)
    with pytest.raises(InvalidInputError, match="pip install redis"):
        example_database("redis://localhost:6379/0")


_KEPT_USER = ("replay(adapter='mutant-reset-keeps-user', machine='client', steps=["
              "('identify', {'device': 'device-0', 'user_id': 'u1', 'traits': {}}), "
              "('reset', {'device': 'device-0'})])")


def test_a_declared_failure_the_examples_miss_is_shown_by_replaying_its_reproducer() -> None:
    """A known deviation the drawn examples did not reach is replayed from its reproducer: XFAIL, saying so."""
    entry = ExpectedFailure(requirement="client.reset.forgets-user", reason="reset keeps the user",
                            reproducer=_KEPT_USER)  # fmt: skip
    tiny = RunSettings(max_examples=1, step_count=1)
    result = run(load_adapter("mutant-reset-keeps-user"), run_settings=tiny, expected_failures=[entry])
    [kept] = [r for r in result.results if r.requirement == entry.requirement]
    assert kept.verdict is Verdict.XFAIL
    assert "shown by replaying its reproducer" in kept.reason


def test_a_reproducer_that_shows_nothing_leaves_the_declaration_stale() -> None:
    """Replaying a declared reproducer on an SDK without the deviation shows nothing: still XPASS."""
    entry = ExpectedFailure(requirement="client.reset.forgets-user", reason="reset keeps the user",
                            reproducer=_KEPT_USER)  # fmt: skip
    result = run(load_adapter("reference"), expected_failures=[entry])
    [kept] = [r for r in result.results if r.requirement == entry.requirement]
    assert kept.verdict is Verdict.XPASS


def test_a_finding_from_concurrent_calls_says_how_often_its_reproducer_shows_it() -> None:
    """A race's violations say 'race: shown in k of n replays of its reproducer' (also when flaky)."""
    result = run(load_adapter("mutant-server-ids-on-instance"), run_settings=FAST,
                 stop_on=frozenset({"server.threads.isolated"}))  # fmt: skip
    failing = next(r for r in result.results if r.requirement == "server.threads.isolated")
    assert failing.verdict is Verdict.FAIL
    assert failing.reproducer is not None
    assert "concurrent_calls" in failing.reproducer
    assert all(re.search(r"[ ;] ?\[?race: shown in (\d+) of (\d+) replays of its reproducer\]$", v.message)
               for v in failing.violations), failing.violations


def test_replay_rate_counts_the_replays_that_show_the_requirement() -> None:
    """replay_rate replays a trace n times on one adapter: all show a deterministic bug, none a correct SDK."""
    from conformance.engine.minimize import makes_concurrent_calls, replay_rate

    trace = {"profile": "seed", "machine": "server",
             "steps": [{"rule": "track_without_ids", "args": {"name": "a"}}]}  # fmt: skip
    assert replay_rate(load_adapter("mutant-server-accepts-no-ids"), trace,
                       "server.ids.at-least-one", times=3) == (3, 3)
    assert replay_rate(load_adapter("reference"), trace, "server.ids.at-least-one", times=2) == (0, 2)
    assert not makes_concurrent_calls(trace)
    assert makes_concurrent_calls({"steps": [{"rule": "concurrent_calls", "args": {"count": 2}}]})


def test_the_reference_passes_twenty_runs_of_twenty_with_different_seeds() -> None:
    """Concurrent steps of up to 32 threads included, a correct SDK never fails: 20 seeds, 20 passes."""
    outcomes = [run(ReferenceAdapter, run_settings=RunSettings(seed=seed)) for seed in range(20)]
    failed = {seed: [r.requirement for r in o.results if r.verdict not in {Verdict.PASS, Verdict.SKIP}]
              for seed, o in enumerate(outcomes) if o.exit_code != 0}  # fmt: skip
    assert not failed, failed
    assert all(o.rule_counts.get("concurrent_calls", 0) > 0 for o in outcomes)


class _MachinesFinished:
    """A handler that keeps the MachineFinished events."""

    def __init__(self) -> None:
        self.events: list[Any] = []

    def start(self) -> None:
        pass

    def handle_event(self, event: Any) -> None:
        from conformance.engine.events import MachineFinished

        if isinstance(event, MachineFinished):
            self.events.append(event)

    def shutdown(self) -> None:
        pass


def test_a_machine_whose_checks_no_example_reached_is_run_again_on_other_seeds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Too few steps to reach a check: the machine reruns MAX_TOP_UPS times, then it is an ERROR.

    (The value sweep is off here: its examples would count among the machine's.)
    """
    from conformance.engine import run as run_module
    from conformance.engine.run import MAX_TOP_UPS

    monkeypatch.setattr(run_module, "_sweep_unseen_values", lambda *args: None)
    finished = _MachinesFinished()
    result = run(ReferenceAdapter, run_settings=RunSettings(max_examples=2, step_count=1), handlers=[finished])
    client = next(f for f in finished.events if f.machine == "client")
    assert client.examples == 2 * (1 + MAX_TOP_UPS)
    assert _verdicts(result)["client.reset.forgets-user"] is Verdict.ERROR


def test_a_machine_that_reaches_every_check_is_not_run_again() -> None:
    """A run whose examples reach every check runs each machine's examples once."""
    finished = _MachinesFinished()
    result = run(ReferenceAdapter, run_settings=RunSettings(seed=0), handlers=[finished])
    assert result.exit_code == 0
    assert [f.machine for f in finished.events] == ["client", "server"]
    assert all(f.examples < 2 * 60 for f in finished.events), finished.events  # one round each
