"""Reproducers in the SDK's own API: short programs a maintainer runs without this suite.

For each declared deviation of a Python server SDK whose reproducer replays, the suite's
calls are recorded as the adapter made them, then written as SDK code with the adapter's
:class:`~conformance.adapters.sdk.SdkProgram` (one client, each call wrapped to print
whether the SDK accepted it, and whether it changed a dict the caller passed). The program posts to the URL it is given, e.g. that of
``identity-conformance collector``.

:func:`check_programs` (run by each ``sdk-<vendor>`` env) writes them to
``reports/<env>/programs/<requirement>.py`` and checks each one: run on its own against a
loopback collector, it must show what the suite's replay showed (the same calls accepted
or refused, the same caller dicts changed, the same events on the wire, generated ids
aside), so a program that no longer
reproduces the finding fails the env.
"""

from __future__ import annotations

import copy
import re
import subprocess
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

from conformance._errors import InvalidInputError
from conformance.adapters.sdk import SdkProgram, SdkSpec
from conformance.collector.http import HttpCollector
from conformance.collector.store import Collector
from conformance.engine.expected import ExpectedFailure, load_expected_failures, parse_reproducer

OPERATIONS = ("track", "track_with_options", "identify", "identify_with_context", "alias", "flush")
_STAGED_BY_THE_COLLECTOR = frozenset({"track_during_outage", "lose_next_delivery_ack"})
"""Rules whose finding needs the suite's collector to fail on purpose: no program for them."""
_OPTIONS = {"timestamp": None, "message_id": None, "context": None}
PROGRAM_TIMEOUT = 120.0
"""Seconds a program may run (it makes a few HTTP calls to loopback)."""
_GENERATED = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}|\$device:[^\"']*")
_VOLATILE = ("message_id", "timestamp", "source")

Call = tuple[str, dict[str, Any], str]
"""An adapter call as the suite made it: operation, keyword arguments (as passed, before the
call), outcome ("accepted", "accepted; changed the caller's context dict", "refused: E")."""


def recorded_calls(spec: SdkSpec, steps: list[Any], machine: str) -> tuple[list[Call], list[dict[str, Any]]]:
    """Replay ``steps``; the adapter calls made (with outcomes) and the events that arrived."""
    from conformance.engine.replay import ReplaySession  # noqa: PLC0415  (replay imports the run loop)

    calls: list[Call] = []
    events: list[dict[str, Any]] = []

    def factory(collector: Collector) -> Any:
        adapter = spec.load(collector)
        for name in OPERATIONS:
            method = getattr(adapter, name, None)
            if method is not None:
                setattr(adapter, name, _recording(name, method, calls))
        return adapter

    class Recording(Collector):
        """The replay's collector, keeping a copy of everything the checks drain."""

        def drain(self) -> list[Any]:
            drained = super().drain()
            events.extend(e.to_json() for e in drained)
            return drained

    session = ReplaySession(factory, profile=spec.profile, collector=Recording())
    try:
        session.replay(steps, machine=machine)
    finally:
        session.close()
    return calls, events


def _recording(name: str, method: Callable[..., Any], calls: list[Call]) -> Callable[..., Any]:
    def call(*args: Any, **kwargs: Any) -> Any:
        if name.startswith("track") and args:  # track(event, properties, *, user_id, anonymous_id)
            kwargs = {"event": args[0], "properties": args[1], **kwargs}
            args = ()
        arguments = {k: _plain(v) for k, v in kwargs.items()}
        if name == "track_with_options":  # an option the call did not give is None in the program
            arguments = {**_OPTIONS, **arguments}
        passed = {k: copy.deepcopy(v) for k, v in kwargs.items() if isinstance(v, dict)}
        try:
            result = method(*args, **kwargs)
        except Exception as exc:
            calls.append((name, arguments, f"refused: {type(exc).__name__}"))
            raise
        calls.append((name, arguments, accepted_outcome([k for k, v in passed.items() if kwargs[k] != v])))
        return result

    return call


def accepted_outcome(changed: list[str]) -> str:
    """What an accepted call's outcome line says; ``changed`` names the caller's dicts it changed."""
    return f"accepted; changed the caller's {', '.join(changed)} dict" if changed else "accepted"


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def program_text(spec: SdkSpec, program: SdkProgram, entry: ExpectedFailure, calls: list[Call]) -> str:
    """The standalone program for ``entry``: the recorded calls as SDK code."""
    vendor_url = f"http://127.0.0.1:8080/{spec.wire}"
    lines = [
        f'"""{spec.distribution} {spec.pin}: {entry.requirement} (found by identity-conformance).',
        "",
        entry.reason,
        "",
        "Run it against any endpoint that takes the SDK's posts, for example",
        "`identity-conformance collector --port 8080` in another terminal:",
        "",
        f"    python {entry.requirement}.py {vendor_url}",
        "",
        'Each call prints whether the SDK accepted it; the collector prints what arrived."""',
        "",
        "import sys",
        *(["import datetime"] if any(name == "track_with_options" for name, _, _ in calls) else []),
        "",
        program.imports,
        "",
        f"URL = sys.argv[1] if len(sys.argv) > 1 else {vendor_url!r}",
        program.setup,
        "",
        "",
        "def call(number, what, statement):",
        "    # statement() makes the call and returns each dict it passed, with what it held before",
        "    try:",
        "        passed = statement()",
        "    except Exception as exc:",
        '        print(f"call {number} ({what}): refused: {type(exc).__name__}", flush=True)',
        "        return",
        "    changed = [name for name, (now, before) in passed.items() if now != before]",
        "    if not changed:",
        '        print(f"call {number} ({what}): accepted", flush=True)',
        "        return",
        """    print(f"call {number} ({what}): accepted; changed the caller's {', '.join(changed)} dict", flush=True)""",
        "    for name in changed:",
        '        print(f"  {name} was {passed[name][1]!r}, now {passed[name][0]!r}", flush=True)',
        "",
        "",
    ]
    for number, (name, arguments, _) in enumerate(calls, start=1):
        if not getattr(program, name):
            msg = f"{spec.name}'s program has no {name} (a reproducer that calls it cannot be written)"
            raise ValueError(msg)
        # each dict is the caller's own variable, so a change the SDK makes to it shows
        dicts = {k: v for k, v in arguments.items() if isinstance(v, dict)}
        statement = program.render(name, arguments, names=set(dicts))
        passed = ", ".join(f"{k!r}: ({k}, {v!r})" for k, v in dicts.items())
        body = [*(f"{k} = {v!r}" for k, v in dicts.items()), statement, f"return {{{passed}}}"]
        code = textwrap.indent("\n".join(body), "    ")
        lines += [f"def step_{number}():", code, "", "", f"call({number}, {name!r}, step_{number})", "", ""]
    if program.shutdown:
        lines.append(program.shutdown)
    return "\n".join(lines).rstrip("\n") + "\n"


def run_program(path: Path) -> tuple[list[str], list[dict[str, Any]]]:
    """Run a program against a fresh loopback collector; its outcome lines and the events."""
    collector = Collector()
    with HttpCollector(collector) as http:
        done = subprocess.run([sys.executable, str(path), http.url_for(_vendor_of(path))],  # noqa: S603
                              capture_output=True, text=True, timeout=PROGRAM_TIMEOUT, check=False)  # fmt: skip
        events = [e.to_json() for e in collector.drain()]
    if done.returncode != 0:
        msg = f"{path} exited {done.returncode}: {done.stderr.strip()[-400:]}"
        raise RuntimeError(msg)
    return [line for line in done.stdout.splitlines() if line.startswith("call ")], events


def _vendor_of(path: Path) -> str:
    match = re.search(r"http://127\.0\.0\.1:8080/([a-z]+)", path.read_text(encoding="utf-8"))
    return match.group(1) if match else ""


def comparable(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events with what differs from run to run left out (message ids, times, generated ids)."""
    out = []
    for event in events:
        kept = {k: v for k, v in event.items() if k not in _VOLATILE}
        out.append(_GENERATED.sub("<generated>", repr(kept)))
    return [{"event": text} for text in sorted(out)]


def check_programs(spec: SdkSpec, expected: Path, out: Path) -> int:
    """Write and check the program of each replayable declared deviation; 0 if all reproduce."""
    if spec.program is None:
        print(f"programs: {spec.name} declares no PROGRAM; none written", file=sys.stderr)  # noqa: T201
        return 0
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.py"):
        old.unlink()
    wrong = 0
    for entry in load_expected_failures(expected):
        if not entry.reproducer.startswith("replay("):
            continue
        try:
            args = parse_reproducer(entry.reproducer, f"{expected}: {entry.requirement}")
        except InvalidInputError as exc:  # an expression (say 'a' * 1100) where a literal would be
            print(f"programs: {entry.requirement}: not written ({exc})", file=sys.stderr)  # noqa: T201
            continue
        steps = list(args.get("steps", []))
        if any(step[0] in _STAGED_BY_THE_COLLECTOR for step in steps):
            print(f"programs: {entry.requirement}: not written (its steps need a collector that "  # noqa: T201
                  "fails on purpose, which a standalone program does not have)", file=sys.stderr)  # fmt: skip
            continue
        calls, events = recorded_calls(spec, steps, args.get("machine", "server"))
        path = out / f"{entry.requirement}.py"
        try:
            path.write_text(program_text(spec, spec.program, entry, calls), encoding="utf-8")
        except ValueError as exc:
            print(f"programs: {entry.requirement}: not written ({exc})", file=sys.stderr)  # noqa: T201
            continue
        outcomes, arrived = run_program(path)
        want = [f"call {n} ({name}): {outcome}" for n, (name, _, outcome) in enumerate(calls, start=1)]
        same = outcomes == want and comparable(arrived) == comparable(events)
        wrong += not same
        print(f"programs: {entry.requirement}: {'reproduces the replay' if same else 'DIFFERS from the replay'}"  # noqa: T201
              f" ({path})", file=sys.stderr)  # fmt: skip
        if not same:
            print(f"  suite: {want} {comparable(events)}\n  program: {outcomes} {comparable(arrived)}",  # noqa: T201
                  file=sys.stderr)  # fmt: skip
    return 1 if wrong else 0
