"""What an engine author writes: a subclass of Engine naming the engine and its capabilities.

The SDK's EngineService calls the methods only after its gates have passed: the caller is the
router, the request keeps its contract, and the capability is one the engine describes, of the
right kind (Invoke for UNDERSTAND and READ capabilities, Simulate and Commit for EFFECT ones). A
method answers with a response message or raises SeleneError with a reason code; any other
exception is a bug, logged and answered INTERNAL.
"""

from __future__ import annotations

from selene.engine.v1 import engine_pb2

from .errors import SeleneError


class Engine:
    """Subclass it; set `name` (the workload name: certificate N.crt, SPIFFE id .../sa/N)."""

    name: str = ""

    def capabilities(self) -> list[engine_pb2.Capability]:
        """What Describe publishes; read once at start."""
        raise NotImplementedError

    def invoke(self, request: engine_pb2.InvokeRequest) -> engine_pb2.InvokeResponse:
        raise _not_served(self.name, "Invoke")

    def simulate(self, request: engine_pb2.SimulateRequest) -> engine_pb2.SimulateResponse:
        raise _not_served(self.name, "Simulate")

    def commit(self, request: engine_pb2.CommitRequest) -> engine_pb2.CommitResponse:
        raise _not_served(self.name, "Commit")


def _not_served(name: str, method: str) -> SeleneError:
    return SeleneError("ENGINE_REJECTED", f"the {name} engine does not serve {method}", field_path="capability")
