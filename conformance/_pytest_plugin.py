"""pytest plugin: run the identity conformance suite inside a vendor's own pytest.

    pytest --conformance-adapter mypkg.testing:AcmeAdapter [--conformance-profile segment]

adds one test item per requirement, ``test_conformance[client.reset.forgets-user]`` and
so on, with stable names, so pytest's own ``-k``, ``-x``, ``--junitxml`` and report plugins
work unchanged. The suite runs once, when the first item runs; each item then passes,
fails (with the violation, expected vs observed and its reproducer, not the suite's
source), skips or xfails with its own verdict and reason. Loading this plugin imports
neither Hypothesis nor the machines: they are imported only when the option is given.

The option may be repeated, one run per adapter: each adapter's items then sit under a node
named after it (``sdk-segment::test_conformance[server.ids.at-least-one]``), which is the
scope pytest-xdist's ``--dist loadscope`` keeps on one worker, so ``-n auto --dist
loadscope`` spreads the adapters over workers and runs each adapter's suite once, on one
worker (one adapter instance per run, as applications use an SDK).
``--conformance-expected-failures`` takes ``FILE`` (for every adapter) or
``ADAPTER=FILE``, and may be repeated too.
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
    group.addoption(ADAPTER_OPTION, action="append", default=None, metavar="ADAPTER",
                    help="run the identity conformance suite against this adapter (name, module:attr or "
                    "cmd:COMMAND); repeat it for several (with pytest-xdist: -n auto --dist loadscope)")  # fmt: skip
    group.addoption(PROFILE_OPTION, default=None, help="profile to check against")
    group.addoption(EXPECTED_OPTION, action="append", default=None, metavar="[ADAPTER=]FILE",
                    help="TOML file of expected failures, for every adapter or (ADAPTER=FILE) for one")  # fmt: skip
    group.addoption(MAX_EXAMPLES_OPTION, type=int, default=None, help="examples per machine")
    group.addoption(EXAMPLE_DB_OPTION, default=None, metavar="DIR|URL",
                    help="Hypothesis example database shared between runs and CI jobs, a directory "
                    "or a redis:// URL (failures found before are replayed first; the run is then "
                    "seeded)")  # fmt: skip
    group.addoption(FAIL_FAST_OPTION, action="store_true", help="stop at the first MUST failure")
    group.addoption(REQUIRE_ALL_OPTION, action="store_true",
                    help="fail when a MUST requirement is skipped (missing capability or profile)")  # fmt: skip


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:  # fmt: skip
    """Append one conformance item per requirement (and adapter) when the adapter option is given."""
    adapters = _adapters(config)
    if not adapters:
        return
    from conformance._requirements import REQUIREMENTS  # noqa: PLC0415  (no Hypothesis)

    expected_files(config)  # a bad ADAPTER=FILE is a usage error before anything runs
    for adapter in adapters:
        parent = session if len(adapters) == 1 else AdapterNode.from_parent(session, name=adapter)
        items.extend(RequirementItem.from_parent(parent, name=f"{ITEM_PREFIX}[{r.id}]", requirement=r.id,
                                                 adapter=adapter)
                     for r in REQUIREMENTS)  # fmt: skip


def _adapters(config: pytest.Config) -> list[str]:
    """The adapters named on the command line, in order, each once."""
    return list(dict.fromkeys(config.getoption(ADAPTER_OPTION) or ()))


def expected_files(config: pytest.Config) -> dict[str | None, list[str]]:
    """The expected-failures files by adapter (``None``: for every adapter).

    A value is ``FILE`` or ``ADAPTER=FILE``; the adapter must be one of the run's.
    """
    import pytest  # noqa: PLC0415

    adapters = _adapters(config)
    found: dict[str | None, list[str]] = {}
    for value in config.getoption(EXPECTED_OPTION) or ():
        name, sep, path = value.partition("=")
        if sep and name in adapters:
            found.setdefault(name, []).append(path)
        elif sep and not name.startswith(("cmd:", "cmd+validate:")) and ":" not in name and "/" not in name:
            msg = (f"{EXPECTED_OPTION} {value!r} names the adapter {name!r} (type str), which is not "
                   f"one of this run's {ADAPTER_OPTION} values {adapters}; pass FILE for every "
                   "adapter or ADAPTER=FILE with one of them")  # fmt: skip
            raise pytest.UsageError(msg)
        else:
            found.setdefault(None, []).append(value)
    return found


class RequirementFailed(Exception):  # noqa: N818  (reads as pytest's own outcomes do)
    """A requirement's verdict was FAIL, ERROR or XPASS; the message is the whole finding."""


def _run_once(config: pytest.Config, adapter: str) -> Any:
    """The adapter's RunFinished (or the exception it raised), computed once per session."""
    runs: dict[str, Any] = config.__dict__.setdefault("_identity_conformance_results", {})
    if adapter in runs:
        return runs[adapter]
    from conformance._requirements import REQUIREMENTS, Level  # noqa: PLC0415
    from conformance.adapters.catalogue import load_adapter  # noqa: PLC0415
    from conformance.engine.expected import load_expected_failures  # noqa: PLC0415
    from conformance.engine.run import run  # noqa: PLC0415
    from conformance.engine.settings import RunSettings  # noqa: PLC0415

    profile = config.getoption(PROFILE_OPTION)
    files = expected_files(config)
    expected_paths = [*files.get(None, ()), *files.get(adapter, ())]
    max_examples = config.getoption(MAX_EXAMPLES_OPTION)
    example_db = config.getoption(EXAMPLE_DB_OPTION)
    chosen = {"max_examples": max_examples} if max_examples else {}
    if example_db:
        chosen["example_db"] = example_db
    must = frozenset(r.id for r in REQUIREMENTS if r.level is Level.MUST)
    try:
        result: Any = run(
            load_adapter(adapter, profile), profile=profile,
            run_settings=RunSettings(**chosen) if chosen else None,
            expected_failures=[entry for path in expected_paths for entry in load_expected_failures(path)],
            stop_on=must if config.getoption(FAIL_FAST_OPTION) else frozenset(),
            require_all=config.getoption(REQUIRE_ALL_OPTION),
        )  # fmt: skip
    except Exception as exc:  # noqa: BLE001  (every item reports it)
        result = exc
    runs[adapter] = result
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
        def __init__(self, *, requirement: str, adapter: str, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.requirement, self.adapter = requirement, adapter

        def runtest(self) -> None:
            finished = _run_once(self.config, self.adapter)
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


@functools.cache
def _adapter_node_class() -> Any:
    import pytest  # noqa: PLC0415

    class _AdapterNode(pytest.Collector):
        """The parent of one adapter's items when several run (the items are made directly)."""

        def collect(self) -> list[Any]:
            return []

    return _AdapterNode


class _Lazy:
    """Defers building a node class until collection, keeping plugin import light."""

    def __init__(self, build: Any) -> None:
        self._build = build

    def __getattr__(self, name: str) -> Any:
        return getattr(self._build(), name)


RequirementItem: Any = _Lazy(_item_class)
AdapterNode: Any = _Lazy(_adapter_node_class)
