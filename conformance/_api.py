"""The one callable an SDK author puts in their own test suite."""

from __future__ import annotations

from collections.abc import Sequence

from conformance._requirements import REQUIREMENTS, Level
from conformance._violations import ConformanceFailure
from conformance.adapters.protocol import AdapterFactory
from conformance.engine.events import Verdict
from conformance.engine.expected import ExpectedFailure
from conformance.engine.run import run
from conformance.engine.settings import RunSettings


def run_conformance(
    adapter_factory: AdapterFactory,
    *,
    profile: str | None = None,
    settings: RunSettings | None = None,
    expected_failures: Sequence[ExpectedFailure] = (),
    fail_fast: bool = False,
    require_all: bool = False,
) -> None:
    """Run the identity conformance suite against your SDK; fail the test on any MUST breach.

    Paste this into your test suite::

        from conformance import run_conformance
        from acme_analytics.testing import AcmeAdapter

        def test_identity_conformance() -> None:
            run_conformance(AcmeAdapter)

    ``AcmeAdapter`` is called once with a :class:`conformance.Collector` and must return an
    object satisfying :class:`conformance.Adapter`, pointed at ``collector.url`` (or
    delivering to ``collector.ingest`` if it runs in-process).

    ``profile`` names the designed behaviour your SDK follows (``segment``, ``posthog``,
    ...); by default the adapter's own ``info.profile``. ``settings`` sets the budget
    (``RunSettings(max_examples=200)``) or a seed. ``expected_failures`` lists known
    deviations by requirement id; one that passes, or that names a requirement skipped
    for your adapter, fails the test, so a fix or a stale entry shows up.
    ``fail_fast=True`` stops at the first MUST failure (quicker; rules not reached yet
    report ERROR). ``require_all=True`` also fails the test when a MUST requirement is
    skipped because the adapter does not declare a capability or the profile excludes it,
    so a pass cannot hide untested rules.
    """
    stop_on = frozenset(r.id for r in REQUIREMENTS if r.level is Level.MUST) if fail_fast else frozenset()
    result = run(adapter_factory, profile=profile, run_settings=settings,
                 expected_failures=expected_failures, stop_on=stop_on, require_all=require_all)  # fmt: skip
    if result.exit_code == 0:
        return
    bad = [r for r in result.results if r.verdict in (Verdict.FAIL, Verdict.ERROR, Verdict.XPASS)]
    violations = [v for r in bad for v in r.violations]
    lines = [f"WARNING: {w}" for w in result.warnings]
    lines += [f"{r.requirement} [{r.level}] {r.verdict.value}: {r.reason}" for r in bad]
    reproducers = [r.reproducer for r in bad if r.reproducer]
    failure = ConformanceFailure(violations)
    failure.args = ("\n".join(lines) + ("\n\n" + reproducers[0] if reproducers else ""),)
    raise failure
