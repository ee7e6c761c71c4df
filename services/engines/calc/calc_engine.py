#!/usr/bin/python3
"""The calc engine: a Python process in the Selene OS mesh, under the same contracts and identities.

    SELENE_PKI_DIR=.selene/pki /usr/bin/python3 services/engines/calc/calc_engine.py

Composition root: config (environment, config.py) -> stubs on sys.path -> logger -> servers ->
serve -> drain. It serves selene.engine.v1.EngineService, grpc.health.v1.Health and
grpc.reflection.v1.ServerReflection over mTLS (calc.crt, clients must present a certificate signed
by the CA, and only the router may call the EngineService; health and reflection are open to any
such peer, as on the Node servers), and Health alone on a plaintext port for Kubernetes probes,
which cannot present a client certificate. Callers it refuses are recorded in the audit ledger
(refusal_audit.py). Once both ports are bound it logs one line
{"msg":"listening","addr":...,"health_addr":...}; SIGTERM or SIGINT drains (health turns
NOT_SERVING, in-flight calls get a grace period) and the process exits 0.

Needs the Debian packages python3-grpcio and python3-protobuf, and the stubs that
`npm run generate` commits under gen/python (SELENE_PYTHON_STUBS, default gen/python).
"""

from __future__ import annotations

import sys

sys.dont_write_bytecode = True  # keep the source tree free of __pycache__

import os  # noqa: E402
import signal  # noqa: E402
import threading  # noqa: E402
from concurrent import futures  # noqa: E402

import jsonlog  # noqa: E402
from config import ConfigError, load_config  # noqa: E402

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


def main() -> int:
    try:
        config = load_config()
    except ConfigError as err:
        jsonlog.error("invalid configuration", error=str(err))
        return 2
    if not os.path.isfile(os.path.join(config.python_stubs, "selene", "engine", "v1", "engine_pb2.py")):
        jsonlog.error(
            "the Python stubs are missing: run `npm run generate` or set SELENE_PYTHON_STUBS",
            python_stubs=config.python_stubs,
        )
        return 2
    sys.path.insert(0, config.python_stubs)
    os.environ["GRPC_VERBOSITY"] = config.grpc_verbosity  # read by grpc core when it loads, just below

    import grpc  # noqa: PLC0415 - after the stubs are importable
    import health_service  # noqa: PLC0415
    import identity  # noqa: PLC0415
    import reflection_service  # noqa: PLC0415
    import rpc_metrics  # noqa: PLC0415
    import refusal_audit  # noqa: PLC0415
    import rules  # noqa: PLC0415
    from engine_service import METHODS, SERVICE, EngineService  # noqa: PLC0415

    rules.check_supported(descriptor for pair in METHODS.values() for descriptor in (c.DESCRIPTOR for c in pair))
    try:
        credentials = identity.server_credentials(config.pki_dir)
    except (OSError, ValueError) as err:
        jsonlog.error(
            "cannot load the mTLS files: run `npx tsx deploy/pki.ts` or set SELENE_PKI_DIR",
            pki_dir=config.pki_dir,
            error=str(err),
        )
        return 2

    health = health_service.HealthService()
    engine = grpc.server(
        futures.ThreadPoolExecutor(max_workers=MAX_WORKERS, thread_name_prefix="calc-rpc"),
        options=(
            *SERVER_OPTIONS,
            # Old connections end gracefully, so the router handshakes again with rotated certificates.
            ("grpc.max_connection_age_ms", config.max_connection_age_ms),
            ("grpc.max_connection_age_grace_ms", CONNECTION_AGE_GRACE_MS),
        ),
        maximum_concurrent_rpcs=MAX_CONCURRENT_RPCS,
    )
    refusals = refusal_audit.RefusalAudit(config.audit_addr, config.pki_dir)
    engine.add_generic_rpc_handlers((EngineService(on_refused=refusals.record).generic_handler(),))
    health_service.add_to_server(health, engine)
    reflection = reflection_service.ReflectionService((SERVICE, health_service.SERVICE_NAME))
    reflection_service.add_to_server(reflection, engine)  # the mTLS port only
    probes = grpc.server(
        futures.ThreadPoolExecutor(max_workers=4, thread_name_prefix="calc-health"),
        options=SERVER_OPTIONS,
        maximum_concurrent_rpcs=64,
    )
    health_service.add_to_server(health, probes)

    try:
        addr = _bound(config.addr, engine.add_secure_port(config.addr, credentials))
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

    engine.start()
    probes.start()
    jsonlog.info(
        "listening",
        addr=addr,
        health_addr=health_addr,
        metrics_addr=metrics_addr,
        spiffe_id=identity.ENGINE_SPIFFE_ID,
        allowed_callers=sorted(identity.ALLOWED_CALLERS),
        pid=os.getpid(),
    )

    while not stop.wait(timeout=60):
        pass

    health.set_all(health_service.NOT_SERVING)
    health.close()
    stopped = [engine.stop(GRACE_SECONDS), probes.stop(GRACE_SECONDS)]
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


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
    except Exception as err:  # noqa: BLE001 - the last line of defence: one JSON line, exit 1
        jsonlog.error("engine failed", error=repr(err))
        sys.exit(1)
