"""A live progress line on a terminal, drawn with rich; plain lines everywhere else.

On a TTY, outside CI and with rich installed (``pip install identity-conformance[progress]``),
the console shows one line that redraws itself: the machine hunting now, steps and examples
done, the requirements found failing so far, and the time elapsed. Everything else (a
finding, an adapter error, the verdict table) is printed above it as usual. Without a TTY,
under CI (``CI`` set) or without rich, :class:`~conformance.report.writers.ConsoleWriter`
prints its plain progress lines instead.
"""

from __future__ import annotations

import importlib.util
import os
import time
from typing import IO, Any

import attrs


def live_wanted(stream: IO[str]) -> bool:
    """Whether ``stream`` is a terminal a person watches, and rich is there to draw on it."""
    isatty = getattr(stream, "isatty", None)
    return (callable(isatty) and bool(isatty()) and not os.environ.get("CI")
            and os.environ.get("TERM") != "dumb" and importlib.util.find_spec("rich") is not None)  # fmt: skip


@attrs.define
class LiveLine:
    """The redrawn progress line (rich's ``Live``) of one run."""

    stream: IO[str]
    machine: str = "starting"
    steps: int = 0
    examples: int = 0
    failing: set[str] = attrs.Factory(set)
    started: float = attrs.Factory(time.monotonic)
    _live: Any = None

    def start(self) -> None:
        """Begin redrawing (four times a second, so the clock moves between events)."""
        from rich.console import Console  # noqa: PLC0415  (an optional dependency)
        from rich.live import Live  # noqa: PLC0415

        self.started = time.monotonic()
        self._live = Live(get_renderable=self.render, console=Console(file=self.stream),
                          refresh_per_second=4, transient=True)  # fmt: skip
        self._live.start()

    def progress(self, machine: str, steps: int, examples: int) -> None:
        """Steps and examples done so far in ``machine``."""
        self.machine, self.steps, self.examples = machine, steps, examples

    def found(self, requirements: set[str]) -> None:
        """Requirements found failing (they stay on the line until the end)."""
        self.failing |= requirements

    def render(self) -> str:
        """The line as it reads now."""
        failing = f"{len(self.failing)} requirement(s) failing so far" if self.failing else "no failure so far"
        return (f"hunting in the {self.machine} machine: {self.steps} steps, {self.examples} "
                f"examples; {failing}; {time.monotonic() - self.started:.0f} s")  # fmt: skip

    def print(self, text: str) -> None:
        """A line printed above the live one."""
        if self._live is None:
            print(text, file=self.stream, flush=True)
        else:
            self._live.console.print(text, markup=False, highlight=False, soft_wrap=True)

    def stop(self) -> None:
        """Remove the line; what follows prints as plain text."""
        if self._live is not None:
            self._live.stop()
            self._live = None
