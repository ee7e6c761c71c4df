"""An engine's Prometheus metrics, under the names and labels of the Node services' shared
server adapter (services/runtime/rpc-metrics.ts), so one dashboard covers every engine:

    selene_rpc_server_requests_total{method, code}      calls served, by gRPC status name
    selene_rpc_server_errors_total{method, reason}      failed calls, by reason code
    selene_rpc_server_duration_seconds{method}          time from arrival to answer
    selene_contract_deprecated_total{method, kind, name} requests at a deprecated contract version

plus the process, platform and GC collectors of prometheus_client. Served over plain HTTP at
GET /metrics on the engine's metrics address (SELENE_<NAME>_METRICS_ADDR), by a daemon thread, without an access log (it would
break the one-JSON-object-per-line log).
"""

from __future__ import annotations

import threading
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    Counter,
    Histogram,
    make_wsgi_app,
)
from prometheus_client.exposition import ThreadingWSGIServer

# The same buckets as the Node services (RPC_LATENCY_BUCKETS), in seconds.
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

REGISTRY = CollectorRegistry()
for _collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
    REGISTRY.register(_collector)

_REQUESTS = Counter(
    "selene_rpc_server_requests", "gRPC calls served, by method and gRPC status code.", ["method", "code"],
    registry=REGISTRY,
)
_ERRORS = Counter(
    "selene_rpc_server_errors", "Failed gRPC calls served, by method and Selene reason code.", ["method", "reason"],
    registry=REGISTRY,
)
_DURATION = Histogram(
    "selene_rpc_server_duration_seconds", "Time from arrival to the answer of a gRPC call, in seconds.", ["method"],
    buckets=LATENCY_BUCKETS, registry=REGISTRY,
)


_DEPRECATED = Counter(
    "selene_contract_deprecated",
    "Requests that used a deprecated contract version (kind=version) or set a deprecated field (kind=field).",
    ["method", "kind", "name"],
    registry=REGISTRY,
)


def record_deprecated(method: str, kind: str, name: str) -> None:
    """Counts a request that used something deprecated (selene_contract_deprecated_total)."""
    _DEPRECATED.labels(method, kind, name).inc()


def record(method: str, code: str, reason: str | None, seconds: float) -> None:
    """Counts and times one served call; `reason` is the reason code of a failed call."""
    _DURATION.labels(method).observe(seconds)
    _REQUESTS.labels(method, code).inc()
    if reason is not None:
        _ERRORS.labels(method, reason).inc()


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
        pass


def _only_metrics(app: Any) -> Any:
    def route(environ: dict[str, Any], start_response: Any) -> Any:
        if environ.get("PATH_INFO") != "/metrics":
            start_response("404 Not Found", [("Content-Length", "0")])
            return [b""]
        return app(environ, start_response)

    return route


def serve(addr: str) -> WSGIServer:
    """Starts serving GET /metrics at host:port (port 0 picks a free one); `shutdown()` stops it."""
    host, _, port = addr.rpartition(":")
    server = make_server(host, int(port), _only_metrics(make_wsgi_app(REGISTRY)), ThreadingWSGIServer,
                         handler_class=_QuietHandler)
    threading.Thread(target=server.serve_forever, name="engine-metrics", daemon=True).start()
    return server
