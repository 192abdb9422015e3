"""Deterministic id generation: the same seed gives the same ids, run after run."""

from __future__ import annotations

import random

import attrs


@attrs.define
class IdSource:
    """UUID4-shaped ids drawn from a seeded generator (``random.Random``, not ``os.urandom``)."""

    seed: int = 0
    _rng: random.Random = attrs.field(init=False, repr=False)

    def __attrs_post_init__(self) -> None:
        self._rng = random.Random(self.seed)  # noqa: S311  (ids, not secrets)

    def new_id(self) -> str:
        """A fresh UUID4 string: ``str(uuid.UUID(int=bits, version=4))``, formatted directly."""
        digits = f"{self._rng.getrandbits(128) & _KEEP | _VERSION_4:032x}"
        return f"{digits[:8]}-{digits[8:12]}-{digits[12:16]}-{digits[16:20]}-{digits[20:]}"


# What uuid.UUID(version=4) does to the bits: version nibble 4, RFC 4122 variant bits 10.
_KEEP = ~((0xF000 << 64) | (0xC000 << 48))
_VERSION_4 = (4 << 76) | (0x8000 << 48)
