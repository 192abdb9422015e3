"""Built-in faulty SDKs: the reference SDK with one realistic identity bug each.

A conformance suite is worth its power to catch real bugs; every mutant must be caught
with its primary requirement, and fail no requirement it does not list, within the
default budget (``python -m conformance.report.sweep``). One module per family:
``client`` (what a client keeps and stamps), ``server`` (state between server calls, ids
as given) and ``delivery`` (the transport both halves share); ``base`` holds the record
and the adapter bases.
"""

from __future__ import annotations

from conformance.mutants import client, delivery, server
from conformance.mutants.base import Mutant

MUTANTS: list[Mutant] = [*client.MUTANTS, *server.MUTANTS, *delivery.MUTANTS]
"""Every built-in mutant: client, then server, then delivery; each family in source order."""

__all__ = ["MUTANTS", "Mutant"]
