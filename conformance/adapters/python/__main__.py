"""``python -m conformance.adapters.python ENV [RUN OPTIONS...]``: one SDK's tox env.

``ENV`` is ``sdk-<vendor>`` (the SDK release its spec pins) or ``sdk-<vendor>-latest``
(the newest release, checked against the same expected failures, so a behaviour change
shows up either way). It installs the SDK named by the adapter's :class:`SdkSpec` with pip,
then runs ``identity-conformance run`` with the adapter's expected-failures file and
``reports/ENV`` as the report directory, and then writes and checks each finding's program
in the SDK's own API (:mod:`conformance.report.programs`, ``reports/ENV/programs/``). tox calls it with ``{envname}``, so an SDK is
declared once, in its adapter module, not once per tox setting.

``python -m conformance.adapters.python install-pinned`` installs every declared SDK at
its pin (the bench env measures each one's ``track()``).
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from conformance.adapters.sdk import spec_named

LATEST = "-latest"
INSTALL_PINNED = "install-pinned"
"""``python -m conformance.adapters.python install-pinned``: every SDK at its pin (the bench env)."""


def main(argv: Sequence[str] | None = None) -> int:
    """Install the env's SDK, then run the suite against it; the run's exit code."""
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0].startswith("-"):
        print(__doc__, file=sys.stderr)  # noqa: T201
        return 2
    env, rest = args[0], args[1:]
    if env == INSTALL_PINNED:
        return _install_pinned()
    latest = env.endswith(LATEST)
    name = env.removesuffix(LATEST)
    try:
        spec = spec_named(name)
    except LookupError as exc:
        print(f"identity-conformance: error: {exc} Pass a tox env name such as sdk-segment.",  # noqa: T201
              file=sys.stderr)  # fmt: skip
        return 2
    requirement = [spec.distribution, "--upgrade"] if latest else [spec.requirement]
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "-q", *requirement],  # noqa: S603
                               check=False)  # fmt: skip
    if installed.returncode != 0:
        print(f"identity-conformance: error: pip could not install {' '.join(requirement)}",  # noqa: T201
              file=sys.stderr)  # fmt: skip
        return 2
    from conformance._cli import console_main  # noqa: PLC0415

    code = console_main(["run", "--adapter", spec.name,
                         "--expected-failures", f"expected-failures/{spec.name}.toml",
                         "--report-dir", f"reports/{env}", *rest])  # fmt: skip
    if code != 0:
        return code
    from conformance.report.programs import check_programs  # noqa: PLC0415

    # Each finding's reproducer in the SDK's own API, run without the suite.
    return check_programs(spec, Path(f"expected-failures/{spec.name}.toml"), Path(f"reports/{env}/programs"))


def _install_pinned() -> int:
    """Install every declared SDK at its pinned release with pip; pip's exit code."""
    from conformance.adapters.sdk import sdk_specs  # noqa: PLC0415

    requirements = sorted({spec.requirement for spec in sdk_specs()})
    done = subprocess.run([sys.executable, "-m", "pip", "install", "-q", *requirements], check=False)  # noqa: S603
    if done.returncode != 0:
        print(f"identity-conformance: error: pip could not install {' '.join(requirements)}",  # noqa: T201
              file=sys.stderr)  # fmt: skip
    return done.returncode


if __name__ == "__main__":
    sys.exit(main())
