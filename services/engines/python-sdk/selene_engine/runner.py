"""Runs an engine: config -> logger -> servers -> serve -> drain, the same way for every engine.

`run(engine, defaults)` serves selene.engine.v1.EngineService (the engine behind the SDK's gates),
grpc.health.v1.Health and grpc.reflection.v1.ServerReflection over mTLS (N.crt for an engine
named N; clients must present a certificate signed by the CA, and only the router may call the
EngineService; health and reflection are open to any such peer, as on the Node servers), and
Health alone on a plaintext port for Kubernetes probes, which cannot present a client
certificate, and Prometheus metrics on a third port. Callers it refuses are recorded in the audit
ledger (refusal_audit.py). Once the ports are bound it logs one line
{"msg":"listening","addr":...,"health_addr":...,"metrics_addr":...}; SIGTERM or SIGINT drains
(health turns NOT_SERVING, in-flight calls get a grace period) and `run` returns 0.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from concurrent import futures

import grpc

from . import health_service, identity, jsonlog, reflection_service, refusal_audit, rpc_metrics, rules
from .config import Addresses, ConfigError, load_config
from .engine import Engine
from .engine_service import METHODS, SERVICE, EngineService

GRACE_SECONDS = 10.0
MAX_WORKERS = 16
MAX_CONCURRENT_RPCS = 256
# How long calls in flight on a connection past its age may still run.
CONNECTION_AGE_GRACE_MS = 30_000

SERVER_OPTIONS = (
    # Fail to start when the port is taken instead of sharing it with another process.
    ("grpc.so_reuseport", 0),
    # The router's channels ping every 5 s, idle or not, to find a vanished peer within seconds
    # (services/runtime/unary-client.ts); without these the server would answer them with GOAWAY.
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.min_ping_interval_without_data_ms", 4000),
)


def main(engine: Engine, defaults: Addresses) -> None:
    """The whole process: runs the engine and exits with its code; one JSON line on any failure."""
    try:
        sys.exit(run(engine, defaults))
    except KeyboardInterrupt:
        sys.exit(0)
    except Exception as err:  # noqa: BLE001 - the last line of defence: one JSON line, exit 1
        jsonlog.error("engine failed", error=repr(err))
        sys.exit(1)


def run(engine: Engine, defaults: Addresses) -> int:
    """Serves `engine` until SIGTERM or SIGINT; returns the exit code (2: bad configuration, 1: cannot bind)."""
    jsonlog.set_component(engine.name)
    try:
        config = load_config(engine.name, defaults)
    except ConfigError as err:
        jsonlog.error("invalid configuration", error=str(err))
        return 2

    rules.check_supported(descriptor for pair in METHODS.values() for descriptor in (c.DESCRIPTOR for c in pair))
    try:
        credentials = identity.server_credentials(config.pki_dir, engine.name)
    except (OSError, ValueError) as err:
        jsonlog.error(
            "cannot load the mTLS files: run `npx tsx deploy/pki.ts` or set SELENE_PKI_DIR",
            pki_dir=config.pki_dir,
            error=str(err),
        )
        return 2

    health = health_service.HealthService()
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix=f"{engine.name}-rpc"),
        options=(
            *SERVER_OPTIONS,
            # Old connections end gracefully, so the router handshakes again with rotated certificates.
            ("grpc.max_connection_age_ms", config.max_connection_age_ms),
            ("grpc.max_connection_age_grace_ms", CONNECTION_AGE_GRACE_MS),
        ),
        maximum_concurrent_rpcs=MAX_CONCURRENT_RPCS,
    )
    refusals = refusal_audit.RefusalAudit(config.audit_addr, config.pki_dir, engine.name)
    server.add_generic_rpc_handlers((EngineService(engine, on_refused=refusals.record).generic_handler(),))
    health_service.add_to_server(health, server)
    reflection = reflection_service.ReflectionService((SERVICE, health_service.SERVICE_NAME))
    reflection_service.add_to_server(reflection, server)  # the mTLS port only
    probes = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix=f"{engine.name}-health"),
        options=SERVER_OPTIONS,
        maximum_concurrent_rpcs=64,
    )
    health_service.add_to_server(health, probes)

    try:
        addr = _bound(config.addr, server.add_secure_port(config.addr, credentials))
        health_addr = _bound(config.health_addr, probes.add_insecure_port(config.health_addr))
        metrics = rpc_metrics.serve(config.metrics_addr)
    except (RuntimeError, OSError) as err:
        jsonlog.error(
            "cannot bind",
            addr=config.addr,
            health_addr=config.health_addr,
            metrics_addr=config.metrics_addr,
            error=str(err),
        )
        return 1
    metrics_addr = f"{config.metrics_addr.rpartition(':')[0]}:{metrics.server_port}"

    stop = threading.Event()

    def on_signal(signum: int, _frame: object) -> None:
        jsonlog.info("stopping", signal=signal.Signals(signum).name)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    server.start()
    probes.start()
    jsonlog.info(
        "listening",
        addr=addr,
        health_addr=health_addr,
        metrics_addr=metrics_addr,
        spiffe_id=identity.workload_spiffe_id(engine.name),
        allowed_callers=sorted(identity.ALLOWED_CALLERS),
        pid=os.getpid(),
    )

    while not stop.wait(timeout=60):
        pass

    health.set_all(health_service.NOT_SERVING)
    health.close()
    stopped = [server.stop(GRACE_SECONDS), probes.stop(GRACE_SECONDS)]
    for event in stopped:
        event.wait()
    metrics.shutdown()
    refusals.close()
    jsonlog.info("stopped")
    return 0


def _bound(requested: str, port: int) -> str:
    """The address actually bound (port 0 asks for a free one); grpc returns 0 when binding failed."""
    if port == 0:
        raise RuntimeError(f"could not bind {requested}")
    host = requested.rpartition(":")[0]
    return f"{host}:{port}"
