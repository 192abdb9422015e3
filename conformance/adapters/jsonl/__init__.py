"""The language-neutral adapter protocol: JSON lines over a child process's stdin and stdout.

``load_adapter("cmd:node bridge.js")`` returns a factory for :class:`JsonlAdapter`, which
speaks protocol version 1 (``docs/protocol.md``, schema ``protocol.schema.json`` here) with
the child; ``cmd+validate:...`` (or ``CONFORMANCE_JSONL_VALIDATE=1``) checks every message
against the schema. :mod:`conformance.adapters.jsonl_child` is a Python child serving the
reference SDK or a mutant.
"""

from __future__ import annotations

from conformance.adapters.jsonl._adapter import (
    CMD_PREFIX,
    CMD_VALIDATE_PREFIX,
    VALIDATE_ENV,
    ChildSdkError,
    JsonlAdapter,
    JsonlClient,
    command_factory,
)
from conformance.adapters.jsonl._connection import (
    PROTOCOL_VERSION,
    STDERR_LINES,
    ChildConnection,
    ChildProtocolError,
)

__all__ = [
    "CMD_PREFIX",
    "CMD_VALIDATE_PREFIX",
    "PROTOCOL_VERSION",
    "STDERR_LINES",
    "VALIDATE_ENV",
    "ChildConnection",
    "ChildProtocolError",
    "ChildSdkError",
    "JsonlAdapter",
    "JsonlClient",
    "command_factory",
]
