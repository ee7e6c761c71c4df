"""selene_engine: the runtime of a Python engine in the Selene OS mesh (docs/ENGINES.md).

    from selene_engine import Addresses, Commits, Engine, SeleneError, main

An engine subclasses Engine (its name and capabilities, Invoke, Simulate, Commit) and calls
main(engine, defaults); the SDK brings the rest: mTLS and the router-only gate, the boundary check
of every request and response (wire scan, protovalidate rules, contract versions), error details
with reason codes, health, reflection, metrics, trace context in the logs, the refusal audit and
the clarify policy. Needs Debian's python3-grpcio, python3-protobuf and python3-prometheus-client.

Importing the package puts the generated code on sys.path first: SELENE_PYTHON_STUBS, or the
repository's gen/python (`npm run generate`); without them the process logs why and exits 2.
grpc core's own logging is silenced (GRPC_VERBOSITY NONE) unless the environment asks for it,
before grpc loads.
"""

from __future__ import annotations

import os
import sys

_ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", ".."))
STUBS_DIR = os.path.abspath(os.environ.get("SELENE_PYTHON_STUBS", "").strip() or os.path.join(_ROOT, "gen", "python"))
if not os.path.isfile(os.path.join(STUBS_DIR, "selene", "engine", "v1", "engine_pb2.py")):
    from . import jsonlog

    jsonlog.error("the Python stubs are missing: run `npm run generate` or set SELENE_PYTHON_STUBS", python_stubs=STUBS_DIR)
    raise SystemExit(2)
if STUBS_DIR not in sys.path:
    sys.path.insert(0, STUBS_DIR)
os.environ["GRPC_VERBOSITY"] = os.environ.get("GRPC_VERBOSITY", "").strip().upper() or "NONE"

from .commits import Commits  # noqa: E402
from .config import Addresses  # noqa: E402
from .digests import canonical_json, content_digest, effect_digest, sha256_digest  # noqa: E402
from .engine import Engine  # noqa: E402
from .errors import SeleneError, Violation  # noqa: E402
from .results import read_result  # noqa: E402
from .runner import main, run  # noqa: E402

__all__ = [
    "Addresses",
    "Commits",
    "Engine",
    "SeleneError",
    "Violation",
    "canonical_json",
    "content_digest",
    "effect_digest",
    "main",
    "read_result",
    "run",
    "sha256_digest",
]
