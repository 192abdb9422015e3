"""The ``identity-conformance`` command line: run, list, requirements, replay, collector.

Exit codes: 0 every MUST requirement passes (or is an expected failure); 1 violations,
errors or stale expected failures; 2 usage or adapter error.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from conformance._errors import AdapterFailedError, ConformanceError

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
            1 a violation, an ERROR verdict or a stale expected failure; 2 usage error.
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
                     help="seconds an adapter call may take before it is an ERROR (default: 10)")  # fmt: skip
    run.add_argument("--fail-fast", action="store_true",
                     help="stop once a MUST requirement fails, i.e. once exit code 1 is certain "
                     "(quicker; rules not reached yet show ERROR)")  # fmt: skip
    run.add_argument("--report-dir", type=Path, default=None,
                     help="write report.json, summary.md and traces/ here")  # fmt: skip
    run.add_argument("--expected-failures", type=Path, default=None,
                     help="TOML file of known deviations by requirement id (stale ones fail the run)")  # fmt: skip

    lst = sub.add_parser("list", help="list adapters (built-in, mutants, plugins) and profiles")
    lst.add_argument("--json", action="store_true", help="machine-readable output")

    req = sub.add_parser("requirements", help="print the requirement registry")
    req.add_argument("--json", action="store_true", help="machine-readable output")

    rep = sub.add_parser("replay", help="replay a JSON trace written by `run --report-dir`")
    rep.add_argument("trace", type=Path, help="a file from REPORT_DIR/traces/")
    rep.add_argument("--adapter", default=None, help="adapter to replay against (default: the trace's)")
    rep.add_argument("--profile", default=None, help="profile (default: the trace's)")

    col = sub.add_parser("collector", help="run the reference collector on 127.0.0.1 and print what arrives")
    col.add_argument("--port", type=int, default=0, help="port (default: any free port)")
    col.add_argument("--host", default="127.0.0.1", help="bind address (loopback unless --allow-remote)")
    col.add_argument("--allow-remote", action="store_true", help="allow a non-loopback bind address")
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
            "replay": _replay, "collector": _collector,
        }[args.command]  # fmt: skip
        return handler(args)
    except AdapterFailedError as exc:
        print(f"identity-conformance: adapter error: {exc}", file=sys.stderr)
        return 2
    except (ConformanceError, TypeError, ValueError, LookupError) as exc:
        print(f"identity-conformance: error: {exc}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from conformance._engine import RunSettings, run  # noqa: PLC0415
    from conformance._expected import load_expected_failures  # noqa: PLC0415
    from conformance._registry import load_adapter  # noqa: PLC0415
    from conformance._report import ConsoleWriter, ReportDirWriter  # noqa: PLC0415

    defaults = RunSettings()
    settings = RunSettings(
        max_examples=args.max_examples if args.max_examples is not None else defaults.max_examples,
        step_count=args.step_count if args.step_count is not None else defaults.step_count,
        seed=args.seed,
        step_timeout=args.step_timeout if args.step_timeout is not None else defaults.step_timeout,
    )
    expected = load_expected_failures(args.expected_failures) if args.expected_failures else ()
    factory = load_adapter(args.adapter, args.profile)
    handlers: list[object] = [ConsoleWriter(sys.stdout)]
    if args.report_dir is not None:
        handlers.append(ReportDirWriter(args.report_dir))
    from conformance._requirements import REQUIREMENTS, Level  # noqa: PLC0415

    must = frozenset(r.id for r in REQUIREMENTS if r.level is Level.MUST)
    stop_on = must if args.fail_fast else frozenset()
    result = run(factory, profile=args.profile, run_settings=settings, stop_on=stop_on,
                 expected_failures=expected, handlers=handlers)  # type: ignore[arg-type]  # fmt: skip
    if args.report_dir is not None:
        print(f"report written to {args.report_dir}/report.json and summary.md")
    return result.exit_code


def _list(args: argparse.Namespace) -> int:
    from conformance._registry import available_adapters  # noqa: PLC0415
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
    from conformance._engine import load_trace  # noqa: PLC0415
    from conformance._replay import replay  # noqa: PLC0415

    trace = load_trace(args.trace)
    adapter = args.adapter or trace["adapter"]
    from conformance._registry import load_adapter  # noqa: PLC0415

    profile = args.profile or trace["profile"]
    violations = replay(load_adapter(adapter, profile), trace["steps"], profile=profile,
                        machine=trace["machine"])  # fmt: skip
    for violation in violations:
        print(violation, end="\n\n")
    print(f"{len(violations)} violation(s) from {len(trace['steps'])} step(s)")
    return 1 if violations else 0


def _collector(args: argparse.Namespace) -> int:
    import time  # noqa: PLC0415

    from conformance._collector import Collector  # noqa: PLC0415
    from conformance._http import HttpCollector  # noqa: PLC0415

    collector = Collector()
    http = HttpCollector(collector, host=args.host, port=args.port, allow_remote=args.allow_remote)
    url = http.start()
    print(f"collector listening on {url} (Ctrl-C to stop); one JSON event per line", flush=True)
    try:
        while http.running:
            for event in collector.drain():
                print(json.dumps(event.to_json(), ensure_ascii=False), flush=True)
            time.sleep(0.2)
    except KeyboardInterrupt:
        pass
    finally:
        http.stop()
        for event in collector.drain():
            print(json.dumps(event.to_json(), ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
