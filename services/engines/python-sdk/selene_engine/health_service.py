"""grpc.health.v1.Health for an engine (Debian's python3-grpcio ships no grpc_health, so the
stubs come from the health.proto of the npm package grpc-health-check, built by
scripts/gen-python.ts). One instance serves both the mTLS port and the plaintext probe port.

The overall status ("") and the EngineService's are SERVING while the engine runs; the drain
turns them NOT_SERVING before the servers stop, and Watch streams follow every change.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import grpc
from health.v1 import health_pb2, health_pb2_grpc

SERVICE_NAME = health_pb2.DESCRIPTOR.services_by_name["Health"].full_name
ENGINE_SERVICE = "selene.engine.v1.EngineService"
SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
SERVICE_UNKNOWN = health_pb2.HealthCheckResponse.SERVICE_UNKNOWN


class HealthService(health_pb2_grpc.HealthServicer):
    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._statuses = {"": SERVING, ENGINE_SERVICE: SERVING}
        self._closed = False

    def set_all(self, status: int) -> None:
        with self._changed:
            for name in self._statuses:
                self._statuses[name] = status
            self._changed.notify_all()

    def close(self) -> None:
        """Ends every Watch stream (at shutdown)."""
        with self._changed:
            self._closed = True
            self._changed.notify_all()

    def Check(self, request: health_pb2.HealthCheckRequest, context: grpc.ServicerContext):  # noqa: N802
        with self._changed:
            status = self._statuses.get(request.service)
        if status is None:
            context.abort(grpc.StatusCode.NOT_FOUND, f"unknown service {request.service!r}")
        return health_pb2.HealthCheckResponse(status=status)

    def List(self, request: health_pb2.HealthListRequest, context: grpc.ServicerContext):  # noqa: N802
        with self._changed:
            statuses = {name: health_pb2.HealthCheckResponse(status=s) for name, s in self._statuses.items()}
        return health_pb2.HealthListResponse(statuses=statuses)

    def Watch(self, request: health_pb2.HealthCheckRequest, context: grpc.ServicerContext) -> Iterator:  # noqa: N802
        ended = threading.Event()

        def on_end() -> None:
            ended.set()
            with self._changed:
                self._changed.notify_all()

        context.add_callback(on_end)
        last = None
        while True:
            with self._changed:
                while not ended.is_set() and not self._closed and self._statuses.get(request.service, SERVICE_UNKNOWN) == last:
                    self._changed.wait()
                if ended.is_set() or self._closed:
                    return
                last = self._statuses.get(request.service, SERVICE_UNKNOWN)
            yield health_pb2.HealthCheckResponse(status=last)


def add_to_server(service: HealthService, server: grpc.Server) -> None:
    health_pb2_grpc.add_HealthServicer_to_server(service, server)
