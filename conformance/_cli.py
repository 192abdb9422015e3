"""The ``identity-conformance`` command line: run, list, requirements, replay, report, plan, collector.

Exit codes: 0 every MUST requirement passes (or is an expected failure); 1 violations,
errors, stale expected failures or a run that ended without a verdict; 2 usage or adapter
error.

The console script (:func:`console_main`) supervises ``run``: it re-executes the same
command in a child process (``python -m conformance._cli``) with ``STATUS_ENV`` naming a
status file. The child writes its exit code there only once :func:`main` has returned,
flushes its output and ends with ``os._exit``, so a thread an adapter left behind cannot
keep it alive; a child that ends without writing its status (an adapter called
``os._exit``, a signal, a crash) makes the parent exit 1, never 0. :func:`main` itself
always runs in-process.

Over 400 lines: every subcommand's parser and handler is here, each short, sharing the
option checks and error wording; a module per subcommand would split one small table.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from conformance._errors import AdapterFailedError, ConformanceError, InvalidInputError, describe
from conformance._supervisor import STATUS_ENV, run_child, supervise
from conformance.collector.store import OUTAGE_FAULTS, SLOW_ANSWER_SECONDS

if TYPE_CHECKING:
    from conformance.engine.events import Handler

"""Set by the supervising parent: the file a child run writes its exit code to."""
STEP_TIMEOUT_RANGE = (0.01, 86400.0)
"""Seconds ``--step-timeout`` may be: long enough to be a call, short enough for a timer."""

EPILOG = """\
examples:
  identity-conformance run                        # the reference SDK, profile 'seed'
  identity-conformance run --adapter mutant-reset-keeps-user
  identity-conformance run --adapter mypkg.testing:AcmeAdapter --profile segment \\
      --report-dir reports/acme --expected-failures acme-known.toml
  identity-conformance replay reports/acme/traces/client.reset.forgets-user.json \\
      --adapter mypkg.testing:AcmeAdapter
  identity-conformance collector --port 8080      # point any SDK at http://127.0.0.1:8080

exit codes: 0 every MUST requirement passes (or is a declared expected failure);
            1 a violation, an ERROR verdict, a stale expected failure (one that passed,
              or names a requirement skipped for this adapter), with --require-all a
              skipped MUST requirement, or a run that ended without a verdict;
            2 usage or adapter error (bad input is refused before anything runs or
              is written).

supervision: `identity-conformance run` runs the suite in a child process and waits
for its verdict, so an adapter that ends the process (os._exit, a crash, a signal)
exits 1 with "the run ended without a verdict", never 0, and a thread an adapter leaves
running cannot keep the command alive. Ctrl-C and SIGTERM are passed to the child
(exit 130 / 143). --no-supervise runs in this process instead.
"""


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="identity-conformance",
        description="Property-based conformance suite for how analytics SDKs handle user "
        "identity: drives an adapter-wrapped SDK against a reference model and reports a "
        "verdict per requirement id.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="run the suite against an adapter",
                         epilog=EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    run.add_argument("--adapter", default="reference",
                     help="adapter name from `list`, or module:attr of a factory (default: reference)")  # fmt: skip
    run.add_argument("--profile", default=None,
                     help="profile to check against (default: the adapter's own profile)")  # fmt: skip
    run.add_argument("--max-examples", type=int, default=None,
                     help="Hypothesis examples per machine (default: 60)")  # fmt: skip
    run.add_argument("--step-count", type=int, default=None, help="steps per example (default: 25)")
    run.add_argument("--seed", type=int, default=None,
                     help="random seed; without it the run is derandomized and reproducible")  # fmt: skip
    run.add_argument("--step-timeout", type=float, default=None,
                     help="seconds an adapter call may take before it is an ERROR, "
                     "0.01 to 86400 (default: 10)")  # fmt: skip
    run.add_argument("--no-shrink", action="store_true",
                     help="skip Hypothesis's shrinking (for slow adapters: child processes, "
                     "browsers); the bounded minimizer still trims each reproducer")  # fmt: skip
    run.add_argument("--example-db", default=None, metavar="DIR|URL",
                     help="Hypothesis example database to share between runs and CI jobs: a "
                     "directory (cache it as an artifact) or a redis:// URL (pip install redis); "
                     "failures found before are replayed first; the run is then seeded (--seed, "
                     "default 0)")  # fmt: skip
    run.add_argument("--fail-fast", action="store_true",
                     help="stop once a MUST requirement fails, i.e. once exit code 1 is certain "
                     "(quicker; rules not reached yet show ERROR)")  # fmt: skip
    run.add_argument("--validate", action="store_true",
                     help="for a cmd: adapter (JSON lines over a child process, docs/protocol.md): "
                     "check every message both ways against the protocol's JSON Schema")  # fmt: skip
    run.add_argument("--report-dir", type=Path, default=None,
                     help="write report.json, summary.md and traces/ here")  # fmt: skip
    run.add_argument("--junit", type=Path, default=None, metavar="FILE",
                     help="write the verdicts as JUnit XML here, one test case per requirement")  # fmt: skip
    run.add_argument("--expected-failures", type=Path, default=None,
                     help="TOML file of known deviations by requirement id (stale ones fail the run)")  # fmt: skip
    run.add_argument("--require-all", action="store_true",
                     help="fail (exit 1) when a MUST requirement is skipped because the adapter "
                     "lacks a capability or the profile excludes it (not for the other kind of SDK)")  # fmt: skip
    run.add_argument("--no-supervise", action="store_true",
                     help="run in this process, not in a supervised child (see 'supervision' below)")  # fmt: skip

    lst = sub.add_parser("list", help="list adapters (built-in, mutants, plugins) and profiles")
    lst.add_argument("--json", action="store_true", help="machine-readable output")

    req = sub.add_parser("requirements", help="print the requirement registry")
    req.add_argument("--json", action="store_true", help="machine-readable output")

    rep = sub.add_parser("replay", help="replay a JSON trace written by `run --report-dir`")
    rep.add_argument("trace", type=Path, help="a file from REPORT_DIR/traces/")
    rep.add_argument("--adapter", default=None,
                     help="adapter to replay against (default: the trace's, if it is a name from "
                     "`list`; a module:attr in a trace is never imported, pass it here)")  # fmt: skip
    rep.add_argument("--profile", default=None, help="profile (default: the trace's)")

    report = sub.add_parser("report", help="merge or compare report.json files from CI jobs")
    report_sub = report.add_subparsers(dest="report_command", metavar="REPORT_COMMAND", required=True)
    merge = report_sub.add_parser("merge", help="write DIR/matrix.md, DIR/matrix.html and DIR/merged.json from many reports")
    merge.add_argument("reports", nargs="+", type=Path, metavar="REPORT.json",
                       help="report.json files (or report directories) written by `run --report-dir`")  # fmt: skip
    merge.add_argument("--out", type=Path, required=True, metavar="DIR", help="directory to write (created if missing)")
    diff = report_sub.add_parser("diff", help="what changed between two runs; exit 1 if something newly fails or errors")
    diff.add_argument("old", type=Path, metavar="OLD.json", help="the earlier report.json")
    diff.add_argument("new", type=Path, metavar="NEW.json", help="the later report.json")

    plan = sub.add_parser("plan", help="tracking plans: generate tracking functions, check a wrapper (docs/plans.md)")
    plan_sub = plan.add_subparsers(dest="plan_command", metavar="PLAN_COMMAND", required=True)
    gen = plan_sub.add_parser("generate", help="write one typed Python module per source of PLAN into DIR")
    gen.add_argument("plan", type=Path, metavar="PLAN", help="a tracking plan (.json, or .yaml with PyYAML)")
    gen.add_argument("--out", type=Path, required=True, metavar="DIR", help="directory to write (created if missing)")
    chk = plan_sub.add_parser("check", help="check wrapper modules against PLAN; exit 1 on findings")
    chk.add_argument("plan", type=Path, metavar="PLAN", help="a tracking plan (.json, or .yaml with PyYAML)")
    chk.add_argument("--wrapper", action="append", required=True, metavar="MODULE",
                     help="a wrapper: a .py file or an importable module setting SOURCE (repeat, one per source)")  # fmt: skip
    chk.add_argument("--adapter", default="reference",
                     help="adapter the clean wrappers then run over, end to end (default: reference)")  # fmt: skip

    col = sub.add_parser("collector", help="run the reference collector on 127.0.0.1 and print what arrives")
    col.add_argument("--port", type=int, default=0, help="port, 0 to 65535 (default 0: any free port)")
    col.add_argument("--host", default="127.0.0.1", help="bind address (loopback unless --allow-remote)")
    col.add_argument("--allow-remote", action="store_true", help="allow a non-loopback bind address")
    col.add_argument("--down", metavar="FAULT", choices=OUTAGE_FAULTS,
                     help="stage an outage: answer every delivery with FAULT (" + ", ".join(OUTAGE_FAULTS)
                          + ") and record nothing, until stopped; for the exit probe's outage reproducers")  # fmt: skip
    col.add_argument("--answer-after", metavar="SECONDS", type=float, default=None,
                     help="with --down slow: how late the 503 comes, above 0 and at most 120 (default "
                          f"{SLOW_ANSWER_SECONDS:g}: past the SDKs' 10 and 15 s request timeouts)")  # fmt: skip
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    try:
        handler = {
            "run": _run, "list": _list, "requirements": _requirements,
            "replay": _replay, "collector": _collector, "report": _report, "plan": _plan,
        }[args.command]  # fmt: skip
        return handler(args)
    except AdapterFailedError as exc:
        print(f"identity-conformance: adapter error: {exc}", file=sys.stderr)
        return 2
    except (ConformanceError, TypeError, ValueError, LookupError, OSError) as exc:
        print(f"identity-conformance: error: {exc}", file=sys.stderr)
        return 2


def console_main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script: :func:`main`, with ``run`` supervised in a child."""
    arguments = list(sys.argv[1:] if argv is None else argv)
    status_file = os.environ.pop(STATUS_ENV, None)
    if status_file is not None:
        run_child(main, arguments, status_file)
    args = _parser().parse_args(arguments)  # --help and usage errors never start a child
    if args.command == "run" and not args.no_supervise:
        return supervise(arguments, args.report_dir)
    return main(arguments)


def _run(args: argparse.Namespace) -> int:
    from conformance._requirements import REQUIREMENTS, Level  # noqa: PLC0415
    from conformance.adapters.catalogue import load_adapter  # noqa: PLC0415
    from conformance.engine.expected import load_expected_failures  # noqa: PLC0415
    from conformance.engine.run import run  # noqa: PLC0415
    from conformance.engine.settings import RunSettings  # noqa: PLC0415
    from conformance.report.junit import JUnitWriter  # noqa: PLC0415
    from conformance.report.writers import ReportDirWriter, console_writer  # noqa: PLC0415
    from simulator import get_profile  # noqa: PLC0415

    # Everything the user gave is checked before the run starts, so nothing is half-written.
    _check_step_timeout(args.step_timeout)
    defaults = RunSettings()
    settings = RunSettings(
        max_examples=args.max_examples if args.max_examples is not None else defaults.max_examples,
        step_count=args.step_count if args.step_count is not None else defaults.step_count,
        seed=args.seed,
        step_timeout=args.step_timeout if args.step_timeout is not None else defaults.step_timeout,
        shrink=not args.no_shrink,
        example_db=args.example_db,
    )
    expected = load_expected_failures(args.expected_failures) if args.expected_failures else ()
    if args.profile is not None:
        get_profile(args.profile)
    if args.report_dir is not None:
        _check_report_dir(args.report_dir)
    if args.junit is not None:
        _check_output_file(args.junit, "--junit")
    if args.validate:  # read by the cmd: adapter factory (conformance.adapters.jsonl)
        os.environ["CONFORMANCE_JSONL_VALIDATE"] = "1"
    factory = load_adapter(args.adapter, args.profile)
    writers: list[Handler] = [console_writer(sys.stdout)]
    if args.report_dir is not None:
        writers.append(ReportDirWriter(args.report_dir))
    if args.junit is not None:
        writers.append(JUnitWriter(args.junit))
    must = frozenset(r.id for r in REQUIREMENTS if r.level is Level.MUST)
    stop_on = must if args.fail_fast else frozenset()
    result = run(factory, profile=args.profile, run_settings=settings, stop_on=stop_on,
                 expected_failures=expected, handlers=writers,
                 require_all=args.require_all)  # fmt: skip
    if args.report_dir is not None:
        print(f"report written to {args.report_dir}/report.json and summary.md")
    if args.junit is not None:
        print(f"JUnit XML written to {args.junit}")
    return result.exit_code


def _check_step_timeout(value: float | None) -> None:
    low, high = STEP_TIMEOUT_RANGE
    if value is not None and not low <= value <= high:  # NaN fails both comparisons
        msg = (f"--step-timeout must be between {low:g} and {high:g} seconds (got "
               f"{describe(value)}). Pass e.g. --step-timeout 10.")  # fmt: skip
        raise InvalidInputError(msg)


def _check_report_dir(directory: Path) -> None:
    """Refuse a --report-dir that cannot hold a report, before anything is written."""
    shown = repr(str(directory))
    existing = directory
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        kind = _kind(existing)
        if existing == directory:
            msg = (f"--report-dir {shown} is {kind}, not a directory. Pass a directory path "
                   "(it is created if missing).")  # fmt: skip
        else:
            msg = (f"--report-dir {shown} is under {str(existing)!r}, which is {kind}, not a "
                   "directory. Pass a path whose parents are directories.")  # fmt: skip
        raise InvalidInputError(msg)
    if not os.access(existing, os.W_OK | os.X_OK):
        which = "it" if existing == directory else f"its nearest existing parent {str(existing)!r}"
        msg = (f"--report-dir {shown} is not writable: {which} is a directory this user cannot "
               "write to. Pass a writable directory, or change its permissions.")  # fmt: skip
        raise InvalidInputError(msg)
    if existing != directory:
        return
    for name, want_dir in (("report.json", False), ("summary.md", False), ("traces", True)):
        path = directory / name
        if os.path.lexists(path) and path.is_dir() is not want_dir:
            want = "a directory" if want_dir else "a file"
            msg = (f"{str(path)!r} in --report-dir is {_kind(path)}, but the report needs {want} "
                   f"there. Remove it, or pass another --report-dir.")  # fmt: skip
            raise InvalidInputError(msg)
        if path.exists() and not os.access(path, os.W_OK):
            msg = f"{str(path)!r} in --report-dir is not writable by this user. Fix its permissions, or pass another --report-dir."
            raise InvalidInputError(msg)


def _check_output_file(path: Path, option: str) -> None:
    """Refuse an output file path that cannot be written (a directory, under a file), before the run."""
    shown = repr(str(path))
    if os.path.lexists(path):
        if path.is_dir() or not path.is_file():
            msg = f"{option} {shown} is {_kind(path)}, not a file. Pass a file path (it is replaced)."
            raise InvalidInputError(msg)
        if not os.access(path, os.W_OK):
            msg = f"{option} {shown} is not writable by this user. Fix its permissions, or pass another path."
            raise InvalidInputError(msg)
    existing = path.parent
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        msg = (f"{option} {shown} is under {str(existing)!r}, which is {_kind(existing)}, not a "
               "directory. Pass a path whose parents are directories.")  # fmt: skip
        raise InvalidInputError(msg)
    if not os.access(existing, os.W_OK | os.X_OK):
        msg = (f"{option} {shown} cannot be written: {str(existing)!r} is a directory this user "
               "cannot write to. Pass a writable path.")  # fmt: skip
        raise InvalidInputError(msg)


def _check_output_dir(directory: Path, option: str) -> None:
    """Refuse an output directory that is a file or under one, before anything is written."""
    existing = directory
    while not os.path.lexists(existing) and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        where = "" if existing == directory else f" is under {str(existing)!r}, which"
        msg = (f"{option} {str(directory)!r}{where} is {_kind(existing)}, not a directory. "
               "Pass a directory path (it is created if missing).")  # fmt: skip
        raise InvalidInputError(msg)
    if not os.access(existing, os.W_OK | os.X_OK):
        msg = f"{option} {str(directory)!r} cannot be written: {str(existing)!r} is not writable by this user."
        raise InvalidInputError(msg)


def _report(args: argparse.Namespace) -> int:
    from conformance.report.merge import diff_reports, load_report_file, merge  # noqa: PLC0415

    if args.report_command == "merge":
        _check_output_dir(args.out, "--out")
        written = merge(args.reports, args.out)
        print(f"merged {len(args.reports)} report(s) into {' and '.join(map(str, written))}")
        return 0
    result = diff_reports(load_report_file(args.old), load_report_file(args.new))
    print("\n".join(result.lines()))
    return 1 if result.worse else 0


def _plan(args: argparse.Namespace) -> int:
    from conformance.plans.commands import check_command, generate_command  # noqa: PLC0415

    if args.plan_command == "generate":
        _check_output_dir(args.out, "--out")
        code, lines = generate_command(args.plan, args.out)
    else:
        code, lines = check_command(args.plan, args.wrapper, args.adapter)
    print("\n".join(lines))
    return code


def _kind(path: Path) -> str:
    if path.is_symlink() and not path.exists():
        return "a broken symbolic link"
    if path.is_dir():
        return "a directory"
    if path.is_file():
        return f"a file ({path.stat().st_size} bytes)"
    return "not a regular file or directory"


def _list(args: argparse.Namespace) -> int:
    from conformance.adapters.catalogue import available_adapters  # noqa: PLC0415
    from simulator import PROFILES  # noqa: PLC0415

    entries = available_adapters()
    if args.json:
        data = {
            "adapters": [e.to_json() for e in entries],
            "profiles": {p.name: p.description for p in PROFILES.values()},
        }
        print(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    width = max(len(e.name) for e in entries)
    print("adapters:")
    for e in entries:
        state = "installed" if e.installed else "not installed"
        tag = f" mutant, breaks {e.expected_violation}" if e.mutant else ""
        print(f"  {e.name:<{width}}  {e.kind:<6} profile={e.profile:<11} {state}{tag}")
    print("profiles:")
    for p in PROFILES.values():
        print(f"  {p.name:<11} {p.description}")
    return 0


def _requirements(args: argparse.Namespace) -> int:
    from conformance._requirements import REQUIREMENTS  # noqa: PLC0415

    if args.json:
        print(json.dumps([r.to_json() for r in REQUIREMENTS], indent=2, ensure_ascii=False))
        return 0
    for r in REQUIREMENTS:
        core = "core" if r.core else "profile"
        print(f"{r.id}  [{r.level.value}, {core}]\n    {r.statement}\n    source: {r.source}")
    return 0


def _replay(args: argparse.Namespace) -> int:
    from conformance.adapters.catalogue import available_adapters, load_adapter  # noqa: PLC0415
    from conformance.engine.replay import replay  # noqa: PLC0415
    from conformance.engine.traces import load_trace  # noqa: PLC0415

    trace = load_trace(args.trace)
    adapter = args.adapter
    if adapter is None:
        # A trace file is data: it may name a registered adapter, never code to import.
        adapter = trace.get("adapter")
        names = {e.name for e in available_adapters()}
        if not isinstance(adapter, str) or adapter not in names:
            msg = (f"trace {str(args.trace)!r} names adapter {describe(adapter)}, which is not "
                   "a registered adapter name (see `identity-conformance list`); replay never "
                   "imports code a trace file names. Pass the adapter yourself: "
                   f"--adapter {adapter if isinstance(adapter, str) else 'NAME_OR_MODULE:ATTR'}.")  # fmt: skip
            raise InvalidInputError(msg)
    profile = args.profile or trace.get("profile")
    steps = trace.get("steps")
    violations = replay(load_adapter(adapter, profile), steps, profile=profile,  # type: ignore[arg-type]
                        machine=trace.get("machine"))  # type: ignore[arg-type]  # fmt: skip
    for violation in violations:
        print(violation, end="\n\n")
    print(f"{len(violations)} violation(s) from {len(steps)} step(s)")  # type: ignore[arg-type]
    return 1 if violations else 0


def _collector(args: argparse.Namespace) -> int:
    import time  # noqa: PLC0415

    from conformance.collector.http import HttpCollector  # noqa: PLC0415
    from conformance.collector.store import Collector  # noqa: PLC0415

    port = args.port
    if not 0 <= port <= 65535:
        msg = f"--port must be between 0 and 65535 (got {describe(port)}). Pass --port 0 for any free port."
        raise InvalidInputError(msg)
    collector = Collector()
    if args.answer_after is not None and args.down != "slow":
        msg = f"--answer-after {args.answer_after:g} needs --down slow (got --down {args.down}); drop it or stage slow answers"
        raise InvalidInputError(msg)
    if args.down:
        collector.go_down(args.down, answer_after=args.answer_after)
    http = HttpCollector(collector, host=args.host, port=port, allow_remote=args.allow_remote)
    _check_port_free(args.host, port)
    try:
        url = http.start()
    except SystemExit as exc:  # werkzeug exits when the port is taken after all
        msg = f"cannot listen on {args.host} port {port}: it is in use. Pick another --port, or --port 0."
        raise InvalidInputError(msg) from exc
    down = f"; down: every delivery is answered {args.down}" if args.down else ""
    if args.down == "slow":
        down += f" (a 503 after {collector.slow_answer_seconds:g} s)"
    print(f"collector listening on {url} (Ctrl-C to stop); one JSON event per line{down}", flush=True)
    try:
        while http.running:
            for event in collector.drain():
                print(_event_line(event.to_json()), flush=True)
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        http.stop()
        for event in collector.drain():
            print(_event_line(event.to_json()))
    return 0


def _check_port_free(host: str, port: int) -> None:
    """Refuse a port that is in use with a clear message (werkzeug would print and exit)."""
    if port == 0:
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server will
        try:
            probe.bind((host, port))
        except OSError as exc:
            msg = (f"cannot listen on {host} port {describe(port)}: {exc.strerror or exc}. The "
                   "port is in use or not allowed; pick another --port, or --port 0 for any free port.")  # fmt: skip
            raise InvalidInputError(msg) from exc


def _event_line(data: Any) -> str:
    """One event as strict ASCII JSON; never fails (a value JSON cannot hold is shown as repr)."""
    from conformance.report.writers import json_safe  # noqa: PLC0415

    try:
        return json.dumps(json_safe(data), ensure_ascii=True, allow_nan=False, default=repr)
    except (TypeError, ValueError) as exc:
        return json.dumps({"unprintable_event": repr(data), "error": str(exc)}, ensure_ascii=True)


if __name__ == "__main__":
    sys.exit(console_main())
