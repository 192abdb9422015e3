"""The value sweep: every small pool value a run's examples never drew, as explicit examples.

Hypothesis draws each step's arguments as one index into the product of the rule's
pools (:class:`conformance.machines.strategies.Calls`), and its distribution is far from
even over a run of sixty examples: in one derandomized run the server machine sent
``'007'`` 36 times and the email id ``'Jane.Doe+test@Example.com'`` never, so an SDK that
hashed email ids passed ``server.ids.exactly-as-given``. A pool value no step used is a
situation that never occurred. After a machine's examples the engine runs, as explicit
examples (Hypothesis's ``@example``, which stateful tests lack), one step for each value
of a small pool (ids, devices, faults, keys, options: at most :data:`SWEEP_POOL_LIMIT`
values) that no drawn step used, on the run's own adapter, with every check.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Final

SWEEP_POOL_LIMIT: Final = 32
"""Pools of at most this many values are swept (ids, devices, faults, keys, options);
larger ones (names, payloads) are samples of an open space, not a list of situations."""
SWEEP_EXAMPLE_STEPS: Final = 25
"""Steps per sweep example (the default run's ``step_count``): one flush window each."""


def drawn_rules(machine: type[Any]) -> dict[str, Any]:
    """The machine's rules whose arguments are one drawn index, by name (see ``drawn_rule``)."""
    rules = {}
    for name in sorted(dir(machine)):
        method = getattr(machine, name, None)
        if getattr(method, "calls", None) is not None and getattr(method, "body", None) is not None:
            rules[name] = method
    return rules


def unseen_digits(fields: Mapping[str, tuple[str, ...]], drawn: Iterable[int]) -> dict[str, list[int]]:
    """Per swept field, the positions of its pool that no index in ``drawn`` chose, in order."""
    sizes = {name: len(pool) for name, pool in fields.items()}
    seen: dict[str, set[int]] = {name: set() for name in sizes}
    for index in drawn:
        rest = index
        for name, size in sizes.items():
            rest, digit = divmod(rest, size)
            seen[name].add(digit)
    return {name: [d for d in range(size) if d not in seen[name]]
            for name, size in sizes.items() if size <= SWEEP_POOL_LIMIT}  # fmt: skip


def sweep_indexes(fields: Mapping[str, tuple[str, ...]], drawn: Iterable[int]) -> list[int]:
    """Indexes that together use every unseen value of every swept field once.

    The k-th index takes the k-th unseen value of each field that has one and the pool's
    first value (the simplest, where shrinking ends) elsewhere, so a value's step differs
    from the simplest call in as few fields as possible.
    """
    unseen = unseen_digits(fields, drawn)
    count = max((len(digits) for digits in unseen.values()), default=0)
    indexes = []
    for k in range(count):
        index, stride = 0, 1
        for name, pool in fields.items():
            digits = unseen.get(name, [])
            if k < len(digits):
                index += digits[k] * stride
            stride *= len(pool)
        indexes.append(index)
    return indexes
