"""Run settings: how hard to look, and how to keep a run reproducible."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import attrs
from hypothesis import HealthCheck, Phase, settings
from hypothesis.database import DirectoryBasedExampleDatabase, ExampleDatabase

from conformance._errors import InvalidInputError, describe

MIN_STEP_TIMEOUT = 0.01
"""Below this, an ordinary call would time out: a typo, not a setting."""
MAX_STEP_TIMEOUT = 86_400.0
"""One day: the timer's limit is far above, but a longer hang is no use to anyone."""


_NO_SHRINK = tuple(p for p in Phase if p.name not in {"shrink", "explain"})


@attrs.frozen
class RunSettings:
    """How hard to look, and how to keep the run reproducible."""

    max_examples: int = 60
    step_count: int = 25
    seed: int | None = None
    step_timeout: float = 10.0
    shrink: bool = True
    """Let Hypothesis shrink a failing example. Off for slow adapters (a child process, a
    browser), where shrinking costs minutes; the bounded minimizer still trims reproducers."""
    example_db: str | None = None
    """Where Hypothesis keeps its example database, shared between runs and CI jobs: a
    directory, or a ``redis://`` URL (``rediss://``, ``unix://``; needs the ``redis``
    package) where a team has a Redis server. A failure found once is replayed first
    wherever the database is shared. Hypothesis keeps no database for derandomized runs,
    so with one the run is seeded (``seed``, default 0)."""

    def __attrs_post_init__(self) -> None:
        for name in ("max_examples", "step_count"):
            value = getattr(self, name)
            if type(value) is not int or value < 1:
                msg = f"{name} must be a positive int (got {describe(value)}). Pass e.g. {name}=50."
                raise InvalidInputError(msg)
        timeout = self.step_timeout
        if type(timeout) not in (int, float) or not 0 < timeout < float("inf"):
            msg = (f"step_timeout must be a positive number of seconds (got {describe(timeout)}). "
                   "Pass e.g. step_timeout=10.0.")  # fmt: skip
            raise InvalidInputError(msg)
        if not MIN_STEP_TIMEOUT <= timeout <= MAX_STEP_TIMEOUT:
            msg = (f"step_timeout must be between {MIN_STEP_TIMEOUT:g} and {MAX_STEP_TIMEOUT:g} "
                   f"seconds (got {describe(timeout)}). Pass e.g. step_timeout=10.0.")  # fmt: skip
            raise InvalidInputError(msg)
        if type(self.shrink) is not bool:
            msg = f"shrink must be True or False (got {describe(self.shrink)})."
            raise InvalidInputError(msg)
        if self.example_db is not None and (type(self.example_db) is not str or not self.example_db
                                            or (not _is_redis_url(self.example_db)
                                                and Path(self.example_db).is_file())):  # fmt: skip
            msg = (f"example_db must name a directory or a redis:// URL (got {describe(self.example_db)}). "
                   "Pass e.g. example_db='.hypothesis/conformance' (created if missing) or "
                   "example_db='redis://localhost:6379/0'.")  # fmt: skip
            raise InvalidInputError(msg)
        if self.seed is not None and type(self.seed) is not int:
            msg = f"seed must be an int or None (got {describe(self.seed)}). Pass e.g. seed=1234."
            raise InvalidInputError(msg)

    @property
    def machine_seed(self) -> int | None:
        """The seed each machine runs with: ``seed``, or 0 with an example database, else None."""
        return 0 if self.seed is None and self.example_db is not None else self.seed

    def hypothesis_settings(self) -> settings:
        """Derandomized unless a seed or an example database is given, so CI verdicts are the same every time."""
        seeded = self.machine_seed is not None
        return settings(
            max_examples=self.max_examples,
            stateful_step_count=self.step_count,
            deadline=None,
            derandomize=not seeded,
            database=example_database(self.example_db) if self.example_db else None,
            print_blob=False,
            report_multiple_bugs=False,
            suppress_health_check=list(HealthCheck),
            phases=tuple(Phase) if self.shrink else _NO_SHRINK,
        )

    def to_json(self) -> dict[str, Any]:
        """For report provenance."""
        return attrs.asdict(self)


REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


def _is_redis_url(where: str) -> bool:
    return where.startswith(REDIS_SCHEMES)


def example_database(where: str) -> ExampleDatabase:
    """Hypothesis's example database at ``where``: a directory, or a Redis server by URL."""
    if not _is_redis_url(where):
        return DirectoryBasedExampleDatabase(where)
    try:
        import redis  # noqa: PLC0415  (optional: only a Redis database needs it)
        from hypothesis.extra.redis import RedisExampleDatabase  # noqa: PLC0415
    except ImportError as exc:
        msg = (f"example_db {where!r} is a Redis URL, but the redis package is not installed "
               f"({exc}). pip install redis, or pass a directory.")  # fmt: skip
        raise InvalidInputError(msg) from exc
    try:
        client = redis.Redis.from_url(where)
    except ValueError as exc:
        msg = f"example_db {where!r} is not a Redis URL redis-py can read ({exc}). Pass e.g. redis://localhost:6379/0."
        raise InvalidInputError(msg) from exc
    return RedisExampleDatabase(client, key_prefix=b"identity-conformance:")
