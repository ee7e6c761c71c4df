"""Structured logs: one JSON object per line on stderr (level, msg, component, time, then fields).

Fields whose value is None are left out, so `correlation_id` appears only when it is known.
Lines are written whole under a lock, so concurrent handler threads never interleave.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any, TextIO

# "engine-<name>", set once at start by the runner (set_component).
COMPONENT = "engine"


def set_component(engine_name: str) -> None:
    global COMPONENT  # noqa: PLW0603 - one engine per process
    COMPONENT = f"engine-{engine_name}"

_lock = threading.Lock()


def log(level: str, msg: str, stream: TextIO | None = None, **fields: Any) -> None:
    """Writes one line: {"level", "msg", "component", "time", ...fields}."""
    now = time.time()
    record: dict[str, Any] = {
        "level": level,
        "msg": msg,
        "component": COMPONENT,
        "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(now)) + f".{int(now * 1000) % 1000:03d}Z",
    }
    record.update((key, value) for key, value in fields.items() if value is not None)
    line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str)
    out = sys.stderr if stream is None else stream
    with _lock:
        out.write(line + "\n")
        out.flush()


def info(msg: str, **fields: Any) -> None:
    log("info", msg, **fields)


def warn(msg: str, **fields: Any) -> None:
    log("warn", msg, **fields)


def error(msg: str, **fields: Any) -> None:
    log("error", msg, **fields)
