"""Deterministic id generation: the same seed gives the same ids, run after run."""

from __future__ import annotations

import random
import uuid

import attrs


@attrs.define
class IdSource:
    """UUID4-shaped ids drawn from a seeded generator (``random.Random``, not ``os.urandom``)."""

    seed: int = 0
    _rng: random.Random = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self._rng = random.Random(self.seed)  # noqa: S311  (ids, not secrets)

    def new_id(self) -> str:
        """A fresh UUID4 string."""
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))
