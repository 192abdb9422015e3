"""What ``identity-conformance plan generate`` and ``plan check`` do; ``_cli`` prints the lines.

Each returns its exit code (0 clean, 1 findings) and the lines to print; bad input (a plan
the loader refuses, a wrapper that cannot be imported or names no plan source) raises
:class:`~conformance._errors.InvalidInputError`, which the command line turns into exit 2.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from conformance._errors import InvalidInputError
from conformance.plans.generate import write_modules
from conformance.plans.load import load_plan
from conformance.plans.wrapper import Finding, check_wrapper, load_wrapper, wrapper_source


def generate_command(plan_path: Path, out: Path) -> tuple[int, list[str]]:
    """Write the plan's modules into ``out``; the lines say which."""
    plan = load_plan(plan_path)
    written = write_modules(plan, out)
    lines = [f"wrote {path} ({source.platform.value} source {source.name!r}, "
             f"{len(plan.events_for(source))} event(s))"
             for path, source in zip(written, plan.sources, strict=True)]  # fmt: skip
    return 0, lines


def check_command(plan_path: Path, wrapper_specs: Sequence[str], adapter: str) -> tuple[int, list[str]]:
    """Check each wrapper against the plan, then, if all are clean, over ``adapter`` end to end."""
    from conformance.adapters.catalogue import load_adapter  # noqa: PLC0415
    from conformance.plans.endtoend import check_end_to_end  # noqa: PLC0415

    plan = load_plan(plan_path)
    factory = load_adapter(adapter)  # refused before anything runs
    wrappers = []
    seen: dict[str, str] = {}
    for spec in wrapper_specs:
        module = load_wrapper(spec)
        source = wrapper_source(plan, module, f"wrapper {spec!r}")
        if source.name in seen:
            msg = (f"wrappers {seen[source.name]!r} and {spec!r} both implement source "
                   f"{source.name!r}. Pass one wrapper per source.")  # fmt: skip
            raise InvalidInputError(msg)
        seen[source.name] = spec
        wrappers.append((spec, module))
    findings: list[Finding] = []
    lines = []
    for spec, module in wrappers:
        found = check_wrapper(plan, module, f"wrapper {spec!r}")
        findings += found
        source = wrapper_source(plan, module)
        verdict = f"{len(found)} finding(s)" if found else "clean"
        lines.append(f"{spec}: source {source.name!r}, {len(plan.events_for(source))} event(s): {verdict}")
        lines += [f"  {finding}" for finding in found]
    unchecked = [s.name for s in plan.sources if s.name not in seen]
    if unchecked:
        lines.append(f"not checked (no wrapper given): {', '.join(unchecked)}")
    if findings:
        lines.append(f"{len(findings)} finding(s); the end-to-end check runs once the wrappers are clean")
        return 1, lines
    e2e, skipped = check_end_to_end(plan, [m for _, m in wrappers], factory)
    if skipped:
        lines.append(f"not run end to end (adapter {adapter!r} is not that kind of SDK): {', '.join(skipped)}")
    if e2e:
        lines.append(f"end to end over adapter {adapter!r}: {len(e2e)} finding(s)")
        lines += [f"  {finding}" for finding in e2e]
        return 1, lines
    lines.append(f"end to end over adapter {adapter!r}: every event arrived as the plan says")
    return 0, lines
