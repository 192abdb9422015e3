"""Supervision of a run: the run happens in a child process, so it cannot end as a silent pass.

The console script re-executes the same command in a child (``python -m conformance._cli``)
with ``STATUS_ENV`` naming a status file. The child writes its exit code there only once
``main`` has returned, flushes its output and ends with ``os._exit``, so a thread an
adapter left behind cannot keep it alive; a child that ends without writing its status (an
adapter called ``os._exit``, a signal, a crash) makes the parent exit 1, never 0.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import tempfile
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import IO, NoReturn

STATUS_ENV = "IDENTITY_CONFORMANCE_STATUS_FILE"
"""The environment variable naming the child's status file."""


def run_child(main: Callable[[list[str]], int], argv: list[str], status_file: str) -> NoReturn:
    """Run ``main``; record its exit code only if it returned, then end at once."""
    try:
        code = main(argv)
    except SystemExit as exc:  # argparse
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 2)
    except KeyboardInterrupt:
        print("identity-conformance: interrupted", file=sys.stderr)
        _exit_now(130)
    except BaseException:  # noqa: BLE001  (shown, and no verdict is recorded)
        traceback.print_exc()
        _exit_now(1)
    Path(status_file).write_text(str(code), encoding="ascii")
    _exit_now(code)


def _exit_now(code: int) -> NoReturn:
    """Flush and end the process, without waiting for threads an adapter left running."""
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):
            stream.flush()
    os._exit(code)


def supervise(argv: list[str], report_dir: Path | None) -> int:
    """Run ``argv`` in a child process; its recorded exit code, else a clear error and 1."""
    fd, status_path = tempfile.mkstemp(prefix="identity-conformance-", suffix=".status")
    os.close(fd)
    received: list[int] = []
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        outputs = [_fd_of(sys.stdout), _fd_of(sys.stderr)]
        child = subprocess.Popen(  # noqa: S603  (this interpreter, this module, the user's argv)
            [sys.executable, "-m", "conformance._cli", *argv],
            env={**os.environ, STATUS_ENV: status_path},
            stdout=outputs[0] if outputs[0] is not None else subprocess.PIPE,
            stderr=outputs[1] if outputs[1] is not None else subprocess.PIPE,
            start_new_session=True,  # terminal signals reach only us; we pass them on once
        )
        pumps = [_pump(pipe, stream) for pipe, stream in ((child.stdout, sys.stdout), (child.stderr, sys.stderr))
                 if pipe is not None]  # fmt: skip

        def forward(signum: int, frame: object) -> None:
            del frame
            received.append(signum)
            child.send_signal(signum)

        restore = {}
        if threading.current_thread() is threading.main_thread():
            restore = {s: signal.signal(s, forward) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            returncode = child.wait()
        finally:
            for signum, handler in restore.items():
                signal.signal(signum, handler)
        for pump in pumps:
            pump.join()
        status = Path(status_path).read_text(encoding="ascii").strip()
    finally:
        Path(status_path).unlink(missing_ok=True)
    if status.lstrip("-").isdigit():
        return int(status)
    how = (f"was killed by signal {_signal_name(-returncode)}" if returncode < 0
           else f"exited with status {returncode}")  # fmt: skip
    where = (f"; {str(report_dir)!r} holds only an incomplete marker"
             if report_dir is not None else "")  # fmt: skip
    if received:
        print(f"identity-conformance: interrupted by {_signal_name(received[0])}: the run ended "
              f"without a verdict (the child process {how}); no report was written{where}.",
              file=sys.stderr)  # fmt: skip
        return 128 + received[0]
    print(f"identity-conformance: error: the run ended without a verdict: the child process "
          f"{how}. An adapter may have called os._exit() or crashed the interpreter, or the "
          f"process was killed; no report was written{where}. Run again with --no-supervise "
          "to debug in one process.", file=sys.stderr)  # fmt: skip
    return 1


def _fd_of(stream: IO[str]) -> int | None:
    try:
        return stream.fileno()
    except (AttributeError, OSError, ValueError):
        return None


def _pump(pipe: IO[bytes], stream: IO[str]) -> threading.Thread:
    """Copy a child's pipe to ``stream`` (when the stream has no file descriptor to share)."""

    def copy() -> None:
        for line in pipe:
            stream.write(line.decode("utf-8", "backslashreplace"))
            stream.flush()
        pipe.close()

    thread = threading.Thread(target=copy, name="identity-conformance-output", daemon=True)
    thread.start()
    return thread


def _signal_name(signum: int) -> str:
    try:
        return f"{signal.Signals(signum).name} ({signum})"
    except ValueError:
        return str(signum)
