"""Caller objects across the process boundary: the same dict is the same handle, kept in place.

The machines reuse one properties dict (client track) and one context dict (server calls with
options) and change them between calls; a child keeps one object per handle and updates it in
place (:func:`sync_in_place`), so an SDK that kept a reference sees the caller's changes, as it
would in the caller's own process. A child that answers with the context as the call left it
lets the parent mirror what the SDK did to the caller's dict.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from typing import Any

MAX_OBJECTS = 256
"""Objects remembered by identity (the machines reuse one; the rest are fresh)."""


class ObjectHandles:
    """Handles for the caller's objects by identity: ``prefix`` and a number, new for a new object."""

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix
        self._known: dict[int, tuple[Mapping[str, Any], str]] = {}
        self._made = 0
        self._lock = threading.Lock()  # server calls may come from many threads

    def handle(self, obj: Mapping[str, Any]) -> str:
        """The handle of ``obj``: the one it had if it was passed before, else a new one."""
        with self._lock:
            known = self._known.get(id(obj))
            if known is None or known[0] is not obj:
                if len(self._known) >= MAX_OBJECTS:
                    self._known.clear()  # fresh dicts each call: their handles are never reused anyway
                self._made += 1
                known = (obj, f"{self._prefix}{self._made}")
                self._known[id(obj)] = known
            return known[1]


def sync_in_place(target: Any, source: Any) -> None:
    """Make ``target`` equal ``source`` keeping its identity and that of nested containers."""
    if isinstance(target, list):
        del target[len(source):]
        for i, item in enumerate(source):
            if i < len(target) and _same_shape(target[i], item):
                sync_in_place(target[i], item)
            elif i < len(target):
                target[i] = item
            else:
                target.append(item)
        return
    for key in [k for k in target if k not in source]:
        del target[key]
    for key, item in source.items():
        if key in target and _same_shape(target[key], item):
            sync_in_place(target[key], item)
        else:
            target[key] = item


def _same_shape(a: Any, b: Any) -> bool:
    return (isinstance(a, dict) and isinstance(b, dict)) or (isinstance(a, list) and isinstance(b, list))
