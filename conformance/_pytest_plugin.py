"""pytest plugin: run the identity conformance suite inside a vendor's own pytest.

    pytest --conformance-adapter mypkg.testing:AcmeAdapter [--conformance-profile segment]

adds one test item per requirement, ``test_conformance[client.reset.forgets-user]`` and
so on, with stable names, so pytest's own ``-k``, ``-x``, ``--junitxml`` and report plugins
work unchanged. The suite runs once, when the first item runs; each item then passes,
fails (with the violation, expected vs observed and its reproducer, not the suite's
source), skips or xfails with its own verdict and reason. Loading this plugin imports
neither Hypothesis nor the machines: they are imported only when the option is given.
"""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

ADAPTER_OPTION = "--conformance-adapter"
PROFILE_OPTION = "--conformance-profile"
EXPECTED_OPTION = "--conformance-expected-failures"
MAX_EXAMPLES_OPTION = "--conformance-max-examples"
EXAMPLE_DB_OPTION = "--conformance-example-db"
FAIL_FAST_OPTION = "--conformance-fail-fast"
REQUIRE_ALL_OPTION = "--conformance-require-all"
ITEM_PREFIX = "test_conformance"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the plugin's options."""
    group = parser.getgroup("identity-conformance")
    group.addoption(ADAPTER_OPTION, default=None,
                    help="run the identity conformance suite against this adapter (name, module:attr or cmd:COMMAND)")  # fmt: skip
    group.addoption(PROFILE_OPTION, default=None, help="profile to check against")
    group.addoption(EXPECTED_OPTION, default=None, help="TOML file of expected failures")
    group.addoption(MAX_EXAMPLES_OPTION, type=int, default=None, help="examples per machine")
    group.addoption(EXAMPLE_DB_OPTION, default=None, metavar="DIR",
                    help="Hypothesis example database directory shared between runs and CI jobs "
                    "(failures found before are replayed first; the run is then seeded)")  # fmt: skip
    group.addoption(FAIL_FAST_OPTION, action="store_true", help="stop at the first MUST failure")
    group.addoption(REQUIRE_ALL_OPTION, action="store_true",
                    help="fail when a MUST requirement is skipped (missing capability or profile)")  # fmt: skip


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:  # fmt: skip
    """Append one conformance item per requirement when the adapter option is given."""
    if not config.getoption(ADAPTER_OPTION):
        return
    from conformance._requirements import REQUIREMENTS  # noqa: PLC0415  (no Hypothesis)

    items.extend(RequirementItem.from_parent(session, name=f"{ITEM_PREFIX}[{r.id}]", requirement=r.id)
                 for r in REQUIREMENTS)  # fmt: skip


class RequirementFailed(Exception):  # noqa: N818  (reads as pytest's own outcomes do)
    """A requirement's verdict was FAIL, ERROR or XPASS; the message is the whole finding."""


def _run_once(config: pytest.Config) -> Any:
    """The run's RunFinished (or the exception it raised), computed once per session."""
    cached = getattr(config, "_identity_conformance_result", None)
    if cached is not None:
        return cached
    from conformance._requirements import REQUIREMENTS, Level  # noqa: PLC0415
    from conformance.adapters.catalogue import load_adapter  # noqa: PLC0415
    from conformance.engine.expected import load_expected_failures  # noqa: PLC0415
    from conformance.engine.run import run  # noqa: PLC0415
    from conformance.engine.settings import RunSettings  # noqa: PLC0415

    profile = config.getoption(PROFILE_OPTION)
    expected_path = config.getoption(EXPECTED_OPTION)
    max_examples = config.getoption(MAX_EXAMPLES_OPTION)
    example_db = config.getoption(EXAMPLE_DB_OPTION)
    chosen = {"max_examples": max_examples} if max_examples else {}
    if example_db:
        chosen["example_db"] = example_db
    must = frozenset(r.id for r in REQUIREMENTS if r.level is Level.MUST)
    try:
        result: Any = run(
            load_adapter(config.getoption(ADAPTER_OPTION), profile), profile=profile,
            run_settings=RunSettings(**chosen) if chosen else None,
            expected_failures=load_expected_failures(expected_path) if expected_path else (),
            stop_on=must if config.getoption(FAIL_FAST_OPTION) else frozenset(),
            require_all=config.getoption(REQUIRE_ALL_OPTION),
        )  # fmt: skip
    except Exception as exc:  # noqa: BLE001  (every item reports it)
        result = exc
    config._identity_conformance_result = result  # type: ignore[attr-defined]  # noqa: SLF001
    return result


def describe_failure(result: Any, warnings: tuple[str, ...] = ()) -> str:
    """What a failing item shows: verdict, reason, each violation, and the reproducer."""
    lines = [f"{result.requirement} [{result.level}] {result.verdict.value.upper()}: {result.reason}"]
    lines += [f"WARNING: {w}" for w in warnings]
    for violation in result.violations:
        lines += ["", str(violation)]
    if result.reproducer:
        lines += ["", "Reproducer:", result.reproducer.rstrip()]
    return "\n".join(lines)


@functools.cache
def _item_class() -> Any:
    import pytest  # noqa: PLC0415

    from conformance.engine.events import Verdict  # noqa: PLC0415
    from conformance.engine.verdicts import skipped_must  # noqa: PLC0415

    class _RequirementItem(pytest.Item):
        def __init__(self, *, requirement: str, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.requirement = requirement

        def runtest(self) -> None:
            finished = _run_once(self.config)
            if isinstance(finished, Exception):
                msg = f"the conformance run did not finish: {type(finished).__name__}: {finished}"
                raise RequirementFailed(msg)
            result = next(r for r in finished.results if r.requirement == self.requirement)
            if result.verdict is Verdict.PASS:
                return
            if result.verdict is Verdict.SKIP:
                if self.config.getoption(REQUIRE_ALL_OPTION) and skipped_must(result):
                    raise RequirementFailed(describe_failure(result, finished.warnings))
                pytest.skip(result.reason)
            if result.verdict is Verdict.XFAIL:
                pytest.xfail(result.reason)
            raise RequirementFailed(describe_failure(result, finished.warnings))

        def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException],
                         style: Any = None) -> Any:  # fmt: skip
            if isinstance(excinfo.value, RequirementFailed):
                return str(excinfo.value)
            return super().repr_failure(excinfo, style=style)

        def reportinfo(self) -> tuple[Path | str, int | None, str]:
            return self.path, None, self.name

    return _RequirementItem


class _Lazy:
    """Defers building the Item subclass until collection, keeping plugin import light."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_item_class(), name)


RequirementItem: Any = _Lazy()
