"""pytest plugin: run the identity conformance suite inside a vendor's own pytest.

    pytest --conformance-adapter mypkg.testing:AcmeAdapter [--conformance-profile segment]

adds one test item per run, ``identity_conformance[ADAPTER]``, that fails with the
violations and a reproducer. Loading this plugin imports neither Hypothesis nor the
machines: they are imported only when the option is given.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

    import pytest

ADAPTER_OPTION = "--conformance-adapter"
PROFILE_OPTION = "--conformance-profile"
EXPECTED_OPTION = "--conformance-expected-failures"
MAX_EXAMPLES_OPTION = "--conformance-max-examples"
FAIL_FAST_OPTION = "--conformance-fail-fast"
REQUIRE_ALL_OPTION = "--conformance-require-all"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Register the plugin's options."""
    group = parser.getgroup("identity-conformance")
    group.addoption(ADAPTER_OPTION, default=None,
                    help="run the identity conformance suite against this adapter (name or module:attr)")  # fmt: skip
    group.addoption(PROFILE_OPTION, default=None, help="profile to check against")
    group.addoption(EXPECTED_OPTION, default=None, help="TOML file of expected failures")
    group.addoption(MAX_EXAMPLES_OPTION, type=int, default=None, help="examples per machine")
    group.addoption(FAIL_FAST_OPTION, action="store_true", help="stop at the first MUST failure")
    group.addoption(REQUIRE_ALL_OPTION, action="store_true",
                    help="fail when a MUST requirement is skipped (missing capability or profile)")  # fmt: skip


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config,
                                  items: list[pytest.Item]) -> None:  # fmt: skip
    """Append the conformance item when the adapter option is given."""
    adapter = config.getoption(ADAPTER_OPTION)
    if not adapter:
        return
    items.append(ConformanceItem.from_parent(session, name=f"identity_conformance[{adapter}]"))


def _item_class() -> Any:
    import pytest  # noqa: PLC0415

    class _ConformanceItem(pytest.Item):
        def runtest(self) -> None:
            from conformance._api import run_conformance  # noqa: PLC0415
            from conformance.adapters.catalogue import load_adapter  # noqa: PLC0415
            from conformance.engine.expected import load_expected_failures  # noqa: PLC0415
            from conformance.engine.settings import RunSettings  # noqa: PLC0415

            config = self.config
            profile = config.getoption(PROFILE_OPTION)
            expected_path = config.getoption(EXPECTED_OPTION)
            max_examples = config.getoption(MAX_EXAMPLES_OPTION)
            settings = RunSettings(max_examples=max_examples) if max_examples else None
            expected = load_expected_failures(expected_path) if expected_path else ()
            run_conformance(load_adapter(config.getoption(ADAPTER_OPTION), profile),
                            profile=profile, settings=settings, expected_failures=expected,
                            fail_fast=config.getoption(FAIL_FAST_OPTION),
                            require_all=config.getoption(REQUIRE_ALL_OPTION))  # fmt: skip

        def reportinfo(self) -> tuple[Path | str, int | None, str]:
            return self.path, None, self.name

    return _ConformanceItem


class _Lazy:
    """Defers building the Item subclass until collection, keeping plugin import light."""

    def __getattr__(self, name: str) -> Any:
        return getattr(_item_class(), name)


ConformanceItem: Any = _Lazy()
