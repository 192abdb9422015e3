"""``python -m conformance.adapters.browser ENV [RUN OPTIONS...]``: one browser SDK's tox env.

``ENV`` is ``js-<sdk>`` (the release ``bridge/package-lock.json`` pins under jsdom),
``js-<sdk>-latest`` (the newest release of that SDK's package, against the same expected
failures, so a behaviour change shows up either way) or ``js-<sdk>-chromium`` (the same
machine in headless Chromium). A browser SDK is declared once, in ``bridge/sdks/<sdk>.mjs``
(its ``spec``: package, bundle, profile, capabilities). This runs ``npm ci`` in ``bridge/``
when the lockfile changed since the last install, then ``identity-conformance run`` over
the Node bridge (``cmd:node bridge/index.mjs <sdk>``) with ``expected-failures/js-<sdk>.toml``
and ``reports/ENV`` as the report directory. Run it from the project root (tox does).

``python -m conformance.adapters.browser matrix-page PAGE.html SHOT.png`` opens the HTML
matrix in headless Chromium, opens a failure, checks its reproducer is shown and saves a
screenshot (the ``matrix`` env does, into ``reports/matrix.png``).

After a jsdom run, every expected failure is replayed in headless Chromium (the
distribution's ``chromium``, or ``$CHROMIUM_PATH``): an entry marked
``chromium = "confirmed"`` must fail the same requirement there, one marked
``"not-reproduced"`` (a jsdom artefact, documented) must not, and ``"not-checked"`` is
reported as unchecked. A mismatch fails the env; ``reports/ENV/chromium.md`` lists them all.
Then, for the pinned release, each confirmed deviation is written as a standalone HTML page
in the SDK's own API, ``reports/ENV/programs/<requirement>.html``, and opened in Chromium:
it must show what the replay showed (:mod:`conformance.report.pages`), else the env fails.
``--no-chromium`` skips the confirmation (and says so).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

LATEST = "-latest"
CHROMIUM = "-chromium"
PREFIX = "js-"
_STAMP = ".identity-conformance-lock"
_PACKAGE = re.compile(r'^\s*package:\s*"([^"]+)"', re.MULTILINE)


def bridge_dir() -> Path:
    """The bridge's folder: ``$IDENTITY_CONFORMANCE_BRIDGE`` or ``./bridge``."""
    return Path(os.environ.get("IDENTITY_CONFORMANCE_BRIDGE", "bridge")).resolve()


def browser_sdks(bridge: Path | None = None) -> tuple[str, ...]:
    """The SDK names the bridge drives: one ``bridge/sdks/<name>.mjs`` each."""
    folder = (bridge or bridge_dir()) / "sdks"
    return tuple(sorted(p.stem for p in folder.glob("*.mjs")))


def adapter_command(sdk: str, *, chromium: bool = False) -> str:
    """The ``--adapter`` value that drives ``sdk`` over the bridge (copy-pasteable from the root)."""
    return f"cmd:node bridge/index.mjs {sdk}" + (" --browser chromium" if chromium else "")


def _fail(message: str) -> int:
    print(f"identity-conformance: error: {message}", file=sys.stderr)  # noqa: T201
    return 2


def _npm(bridge: Path, *args: str) -> int:
    npm = shutil.which("npm")
    if npm is None:
        return 127
    return subprocess.run([npm, *args], cwd=bridge, check=False).returncode  # noqa: S603


def install(bridge: Path) -> int:
    """``npm ci`` unless ``node_modules`` already holds exactly this lockfile's packages.

    Envs running side by side (``tox p``) take turns: one installs, the others then find
    its stamp (an advisory lock on ``bridge/.install.lock``, where the OS has one).
    """
    lock = (bridge / "package-lock.json").read_bytes()
    digest = hashlib.sha256(lock).hexdigest()
    stamp = bridge / "node_modules" / _STAMP
    with _install_turn(bridge):
        if stamp.is_file() and stamp.read_text(encoding="utf-8").strip() == digest:
            return 0
        status = _npm(bridge, "ci", "--no-audit", "--no-fund")
        if status == 0:
            stamp.write_text(digest + "\n", encoding="utf-8")
        return status


@contextlib.contextmanager
def _install_turn(bridge: Path) -> Iterator[None]:
    try:
        import fcntl  # noqa: PLC0415  (POSIX only)
    except ImportError:  # pragma: no cover - no advisory locks: envs in turn only
        yield
        return
    with (bridge / ".install.lock").open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(held, fcntl.LOCK_UN)


def install_latest(bridge: Path, package: str) -> int:
    """The newest release of ``package`` over the pinned install (the stamp is dropped)."""
    (bridge / "node_modules" / _STAMP).unlink(missing_ok=True)
    return _npm(bridge, "install", "--no-save", "--no-audit", "--no-fund", f"{package}@latest")


def package_of(bridge: Path, sdk: str) -> str:
    """The npm package an SDK module's ``spec`` names."""
    found = _PACKAGE.search((bridge / "sdks" / f"{sdk}.mjs").read_text(encoding="utf-8"))
    if found is None:
        msg = f"bridge/sdks/{sdk}.mjs declares no `package:` in its spec"
        raise LookupError(msg)
    return found.group(1)


def _prepare(bridge: Path, env: str, sdk: str) -> str | None:
    """Check the SDK, Node and the install for ``env``; the problem, or None when ready."""
    known = browser_sdks(bridge) if (bridge / "sdks").is_dir() else ()
    if sdk not in known:
        return (f"no browser SDK {sdk!r} in {bridge / 'sdks'} (known: {', '.join(known) or 'none'}). "
                "Pass a tox env name such as js-segment, from the project root.")  # fmt: skip
    if shutil.which("node") is None:
        return "node is not on PATH; the browser SDKs run under Node.js 20 or newer."
    if install(bridge) != 0:
        return f"npm ci failed in {bridge}; see its output above."
    if env.endswith(LATEST) and install_latest(bridge, package_of(bridge, sdk)) != 0:
        return f"npm could not install the latest {package_of(bridge, sdk)}."
    return None


def matrix_page(page: str, screenshot: str) -> int:
    """Open the HTML matrix in headless Chromium, open a failure, check its reproducer shows; screenshot."""
    bridge = bridge_dir()
    if shutil.which("node") is None or install(bridge) != 0:
        return _fail("the matrix page check needs node and the bridge's packages (npm ci in bridge/).")
    node = shutil.which("node") or "node"
    return subprocess.run([node, str(bridge / "tools" / "matrix-page.mjs"), page, screenshot],  # noqa: S603
                          check=False).returncode  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    """Install the bridge, then run the suite against one browser SDK; the run's exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if args[:1] == ["matrix-page"] and len(args) == 3:
        return matrix_page(args[1], args[2])
    if not args or not args[0].startswith(PREFIX):
        print(__doc__, file=sys.stderr)  # noqa: T201
        return 2
    env, rest = args[0], args[1:]
    confirm = "--no-chromium" not in rest
    rest = [a for a in rest if a != "--no-chromium"]
    in_chromium = env.endswith(CHROMIUM)
    sdk = env.removeprefix(PREFIX).removesuffix(CHROMIUM).removesuffix(LATEST)
    problem = _prepare(bridge_dir(), env, sdk)
    if problem is not None:
        return _fail(problem)
    from conformance._cli import console_main  # noqa: PLC0415

    expected = Path("expected-failures") / f"{PREFIX}{sdk}.toml"
    options = ["--expected-failures", str(expected)] if expected.is_file() else []
    # A page load costs tens of milliseconds, so Hypothesis's shrinking would cost minutes;
    # the engine's bounded minimizer still trims each reproducer.
    status = console_main(["run", "--adapter", adapter_command(sdk, chromium=in_chromium), *options,
                           "--no-shrink", "--report-dir", f"reports/{env}", *rest])  # fmt: skip
    if in_chromium or not expected.is_file() or not confirm:
        if not confirm:
            print("identity-conformance: the Chromium confirmation was skipped (--no-chromium)",  # noqa: T201
                  file=sys.stderr)  # fmt: skip
        return status
    from conformance.adapters.confirm import confirm_in_chromium  # noqa: PLC0415

    confirmed = confirm_in_chromium(sdk, expected, Path("reports") / env / "chromium.md")
    if env.endswith(LATEST):  # the pages are written for the pinned release only
        return status or confirmed
    from conformance.report.pages import check_pages  # noqa: PLC0415

    pages = check_pages(bridge_dir(), sdk, expected, Path("reports") / env / "programs")
    return status or confirmed or pages


def lock_versions(bridge: Path | None = None) -> dict[str, str]:
    """The pinned release of each top-level bridge dependency (from the lockfile)."""
    lock = json.loads(((bridge or bridge_dir()) / "package-lock.json").read_text(encoding="utf-8"))
    root = lock["packages"][""]["dependencies"]
    return {name: lock["packages"][f"node_modules/{name}"]["version"] for name in root}


if __name__ == "__main__":
    sys.exit(main())
