r"""JUnit XML for CI systems, over the engine's ``RunFinished`` event (``run --junit FILE``).

One ``<testcase classname="identity-conformance.<adapter>" name="<requirement id>">`` per
requirement: FAIL and XPASS give ``<failure>``, ERROR gives ``<error>`` (message: the
verdict's reason; text: each violation, then the reproducer), SKIP gives ``<skipped>`` and
XFAIL ``<skipped message="expected failure: ...">``.

What a report leaves out, this leaves out too: no write keys or API keys (the engine never
has them), no raw request bodies. Text XML 1.0 cannot hold (control characters, lone
surrogates, U+FFFE/U+FFFF) is replaced by a visible escape such as ``\x1b`` or ``\ud800``,
so the file always parses. The file is written atomically; at start it is replaced by an
incomplete marker (one ``<error>`` test case), so a run that dies never leaves an old or
passing result behind.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable
from pathlib import Path

import attrs

from conformance.engine.events import Event, RequirementResult, RunFinished, Verdict
from conformance.report.writers import write_atomic

_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def xml_text(text: str) -> str:
    """``text`` with every character XML 1.0 cannot hold replaced by a backslash escape."""

    def escape(match: re.Match[str]) -> str:
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return _NOT_XML.sub(escape, text)


def _escape(text: str, *, attribute: bool = False) -> str:
    text = xml_text(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if attribute:  # parsers normalize raw whitespace in attributes: keep it as references
        text = text.replace('"', "&quot;").replace("\n", "&#10;").replace("\r", "&#13;").replace("\t", "&#9;")
    else:
        text = text.replace("\r", "&#13;")
    return text


def _attrs(**values: object) -> str:
    return "".join(f' {k}="{_escape(str(v), attribute=True)}"' for k, v in values.items())


def _details(result: RequirementResult) -> str:
    parts = [str(v) for v in result.violations]
    if result.reproducer:
        parts.append("reproducer:\n" + result.reproducer.rstrip())
    return "\n\n".join(parts)


def _testcase(classname: str, result: RequirementResult) -> list[str]:
    head = f"    <testcase{_attrs(classname=classname, name=result.requirement, time=0)}"
    verdict = result.verdict
    if verdict is Verdict.PASS:
        return [head + "/>"]
    if verdict in (Verdict.FAIL, Verdict.XPASS, Verdict.ERROR):
        tag = "error" if verdict is Verdict.ERROR else "failure"
        reason = result.reason or f"verdict {verdict.value}"
        inner = f"      <{tag}{_attrs(message=reason, type=verdict.value)}>{_escape(_details(result))}</{tag}>"
    else:
        reason = result.reason
        if verdict is Verdict.XFAIL and not reason.startswith("expected failure"):
            reason = f"expected failure: {reason}"
        inner = f"      <skipped{_attrs(message=reason)}/>"
    return [head + ">", inner, "    </testcase>"]


def _document(name: str, timestamp: str, seconds: float, cases: Iterable[RequirementResult],
              properties: dict[str, object], extra: list[str] | None = None) -> str:  # fmt: skip
    results = list(cases)
    counts = {v: sum(r.verdict is v for r in results) for v in Verdict}
    suite = _attrs(
        name=name,
        tests=len(results) + (1 if extra else 0),
        failures=counts[Verdict.FAIL] + counts[Verdict.XPASS],
        errors=counts[Verdict.ERROR] + (1 if extra else 0),
        skipped=counts[Verdict.SKIP] + counts[Verdict.XFAIL],
        time=seconds,
        timestamp=timestamp,
    )
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<testsuites>", f"  <testsuite{suite}>"]
    if properties:
        lines.append("    <properties>")
        lines += [f"      <property{_attrs(name=k, value=v)}/>" for k, v in properties.items()]
        lines.append("    </properties>")
    for result in results:
        lines += _testcase(name, result)
    lines += extra or []
    lines += ["  </testsuite>", "</testsuites>"]
    return "\n".join(lines) + "\n"


def junit_xml(finished: RunFinished) -> str:
    """The run's verdicts as a JUnit XML document."""
    info, prov = finished.info, finished.provenance
    properties: dict[str, object] = {
        "adapter": info.name, "sdk_name": info.sdk_name, "sdk_version": info.sdk_version,
        "profile": finished.profile, "exit_code": finished.exit_code,
        "tool_version": prov.get("tool_version", "?"),
    }  # fmt: skip
    properties.update({f"warning.{i}": w for i, w in enumerate(finished.warnings, 1)})
    return _document(f"identity-conformance.{info.name}", str(prov.get("datetime", "")),
                     finished.seconds, finished.results, properties)  # fmt: skip


def incomplete_junit(started: str) -> str:
    """The marker written at start: one ERROR test case saying there is no verdict yet."""
    message = (f"INCOMPLETE: the identity-conformance run started at {started} has not finished, "
               "or it ended without a verdict (interrupted, killed, or an adapter ended the process)")  # fmt: skip
    extra = [f"    <testcase{_attrs(classname='identity-conformance', name='run', time=0)}>",
             f"      <error{_attrs(message=message, type='incomplete')}/>", "    </testcase>"]  # fmt: skip
    return _document("identity-conformance", started, 0.0, (), {}, extra)


@attrs.define
class JUnitWriter:
    """Writes one JUnit XML file when the run finishes (an incomplete marker until then)."""

    path: Path

    def start(self) -> None:
        """Create the parent directory and replace any old file with the incomplete marker."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        started = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        write_atomic(self.path, incomplete_junit(started))

    def handle_event(self, event: Event) -> None:
        """On ``RunFinished``, write the verdicts."""
        if isinstance(event, RunFinished):
            write_atomic(self.path, junit_xml(event))

    def shutdown(self) -> None:
        """Nothing to release."""
