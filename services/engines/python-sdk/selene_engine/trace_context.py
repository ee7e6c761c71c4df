"""The W3C trace context of an incoming call (the traceparent metadata key, docs/CONTRACTS.md).

An engine calls no other service, so it passes the trace on only into its log lines: each
line about a call names the caller's trace id and the caller's span id (parent_span_id), the
same trace id the router and the other engines log for that turn.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

TRACEPARENT_HEADER = "traceparent"
_TRACEPARENT = re.compile(r"([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?\Z")


@dataclass(frozen=True)
class TraceContext:
    trace_id: str
    parent_span_id: str

    def log_fields(self) -> dict[str, str]:
        return {"trace_id": self.trace_id, "parent_span_id": self.parent_span_id}


def parse_traceparent(value: str) -> TraceContext | None:
    """The trace context of a traceparent value; None when it is malformed or all-zero."""
    match = _TRACEPARENT.match(value.strip())
    if match is None:
        return None
    version, trace_id, span_id, _flags, rest = match.groups()
    if version == "ff" or (version == "00" and rest) or trace_id == "0" * 32 or span_id == "0" * 16:
        return None
    return TraceContext(trace_id, span_id)


def from_metadata(metadata: Iterable[tuple[str, Any]]) -> TraceContext | None:
    """The trace context of a call's invocation metadata, if it carries a valid one."""
    for key, value in metadata:
        if key == TRACEPARENT_HEADER and isinstance(value, str):
            return parse_traceparent(value)
    return None


def log_fields(trace: TraceContext | None) -> dict[str, str]:
    """The fields a log line about the call adds; none when the call carried no trace context."""
    return {} if trace is None else trace.log_fields()
