"""Finding adapters by name: built-ins, mutants, ``module:attr`` and the entry-point group.

Third-party packages register adapters under the ``conformance.adapters`` entry-point
group; ``CONFORMANCE_NO_PLUGINS=1`` turns that discovery off.
"""

from __future__ import annotations

import functools
import importlib
import importlib.util
import os
from collections.abc import Callable
from importlib.metadata import entry_points
from typing import Any

import attrs

from conformance._errors import UnknownAdapterError, describe
from conformance.adapters.protocol import AdapterFactory, AdapterInfo

ENTRY_POINT_GROUP = "conformance.adapters"


@attrs.frozen
class AdapterEntry:
    """One adapter that ``run --adapter NAME`` can use."""

    name: str
    kind: str
    profile: str
    installed: bool
    mutant: bool
    expected_violation: str | None
    description: str
    origin: str
    factory: Callable[..., Any] = attrs.field(repr=False, eq=False)

    def to_json(self) -> dict[str, Any]:
        """As printed by ``identity-conformance list --json``."""
        return {
            "name": self.name, "kind": self.kind, "profile": self.profile,
            "installed": self.installed, "mutant": self.mutant,
            "expected_violation": self.expected_violation,
            "description": self.description, "origin": self.origin,
        }  # fmt: skip


def _builtin_entries() -> list[AdapterEntry]:
    from conformance.adapters.reference import ReferenceAdapter  # noqa: PLC0415
    from conformance.adapters.sdk import sdk_specs  # noqa: PLC0415
    from conformance.mutants import MUTANTS  # noqa: PLC0415

    entries = [
        AdapterEntry("reference", "both", "seed", installed=True, mutant=False,
                     expected_violation=None, origin="built-in",
                     description="The reference SDK; passes under every profile.",
                     factory=ReferenceAdapter)  # fmt: skip
    ]
    for mutant in MUTANTS:
        entries.append(AdapterEntry(  # noqa: PERF401  (readable per-kind blocks)
            mutant.name, "both" if mutant.scope == "both" else mutant.scope, mutant.profile,
            installed=True, mutant=True, expected_violation=mutant.breaks,
            description=mutant.bug, origin="built-in mutant",
            factory=functools.partial(mutant.factory),
        ))  # fmt: skip
    for sdk in sdk_specs():
        entries.append(AdapterEntry(  # noqa: PERF401  (readable per-kind blocks)
            sdk.name, sdk.kind.value, sdk.profile,
            installed=sdk.installed,
            mutant=False, expected_violation=None, description=sdk.description,
            origin=f"built-in (needs `{sdk.distribution}`)", factory=sdk.load,
        ))  # fmt: skip
    return entries


def _plugin_entries() -> list[AdapterEntry]:
    if os.environ.get("CONFORMANCE_NO_PLUGINS") == "1":
        return []
    out = []
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            factory = point.load()
        except Exception as exc:  # noqa: BLE001  (a broken plugin is listed, not fatal)
            out.append(AdapterEntry(point.name, "?", "?", installed=False, mutant=False,
                                    expected_violation=None, origin=f"entry point {point.value}",
                                    description=f"cannot load: {exc}", factory=_broken(point.name, exc)))  # fmt: skip
            continue
        info: AdapterInfo | None = getattr(factory, "INFO", None)
        out.append(AdapterEntry(
            point.name, info.kind.value if info else "?", info.profile if info else "?",
            installed=True, mutant=bool(info and info.is_mutant),
            expected_violation=info.expected_violation if info else None,
            description=info.description if info else "", origin=f"entry point {point.value}",
            factory=factory,
        ))  # fmt: skip
    return out


def _broken(name: str, exc: Exception) -> Callable[..., Any]:
    def factory(*args: Any, **kwargs: Any) -> Any:  # noqa: ARG001  (any factory signature)
        msg = f"adapter {name!r} could not be loaded: {exc}"
        raise UnknownAdapterError(msg)

    return factory


def available_adapters() -> list[AdapterEntry]:
    """Every adapter known by name, built-ins first."""
    return _builtin_entries() + _plugin_entries()


def load_adapter(name: object, profile: str | None = None) -> AdapterFactory:
    """The factory for ``name`` (a listed name, ``module:attr`` or ``cmd:COMMAND``); raise naming the choices.

    ``cmd:COMMAND`` (``cmd+validate:COMMAND`` to check every message against the schema)
    starts COMMAND, shlex-split, as a child speaking the JSON-lines protocol (docs/protocol.md).
    """
    if not isinstance(name, str) or not name:
        msg = f"adapter must be a name or 'module:attr' (got {describe(name)}). Run `identity-conformance list`."
        raise UnknownAdapterError(msg)
    if name.startswith(("cmd:", "cmd+validate:")):  # a child process speaking JSON lines
        from conformance.adapters.jsonl import command_factory  # noqa: PLC0415

        return command_factory(name)
    if ":" in name:
        module_name, _, attr = name.partition(":")
        try:
            factory = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            msg = f"cannot load adapter {name!r}: {exc}. Check the module path and attribute name."
            raise UnknownAdapterError(msg) from exc
        return factory  # type: ignore[no-any-return]
    entries = {e.name: e for e in available_adapters()}
    entry = entries.get(name)
    if entry is None:
        msg = f"unknown adapter {describe(name)}. Known adapters: {', '.join(sorted(entries))}; or pass 'module:attr'."
        raise UnknownAdapterError(msg)
    if not entry.installed:
        msg = f"adapter {name!r} needs an SDK that is not installed: {entry.origin}. Install it, or run its tox env."
        raise UnknownAdapterError(msg)
    if name == "reference":
        return functools.partial(entry.factory, profile=profile or "seed")
    return entry.factory
