"""An engine's configuration: the only reader of the environment, validated and frozen.

For an engine named N (upper case NAME below; "calc" reads SELENE_CALC_ADDR):

SELENE_PKI_DIR           the mTLS files: ca.crt, N.crt, N.key          (default .selene/pki)
SELENE_NAME_ADDR         host:port of the mTLS EngineService           (the engine's default)
SELENE_NAME_HEALTH_ADDR  host:port of the plaintext health-only port  (the engine's default)
SELENE_NAME_METRICS_ADDR host:port of the plaintext metrics port      (the engine's default)
SELENE_AUDIT_ADDR        host:port of the audit ledger (refused callers) (default 127.0.0.1:50072)
SELENE_PYTHON_STUBS      the generated code (scripts/gen-python.ts; read by __init__.py) (default the
                         repository's gen/python)
SELENE_MAX_CONNECTION_AGE_MS  connections older than this end gracefully (GOAWAY), so clients
                         handshake again with rotated certificates   (default 1800000, 30 min)
GRPC_VERBOSITY           grpc core's own logging                       (default NONE)

grpc core writes its log lines (such as a refused TLS handshake) to stderr in its own plain-text
format, which would break the one-JSON-object-per-line log; it is silenced unless GRPC_VERBOSITY
asks for it (ERROR, INFO or DEBUG) while debugging.

Port 0 asks the kernel for a free port; the "listening" log line names the bound ones.
"""
from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_PKI_DIR = ".selene/pki"
DEFAULT_AUDIT_ADDR = "127.0.0.1:50072"
DEFAULT_GRPC_VERBOSITY = "NONE"
DEFAULT_MAX_CONNECTION_AGE_MS = 30 * 60_000
_GRPC_VERBOSITIES = ("NONE", "ERROR", "INFO", "DEBUG")


class ConfigError(ValueError):
    """A variable holds a value the engine cannot use; the message names it."""


@dataclass(frozen=True)
class Addresses:
    """An engine's default addresses: the EngineService, the health-only port, the metrics port."""

    addr: str
    health_addr: str
    metrics_addr: str


@dataclass(frozen=True)
class Config:
    pki_dir: str
    addr: str
    health_addr: str
    metrics_addr: str
    audit_addr: str
    grpc_verbosity: str
    max_connection_age_ms: int


def load_config(engine_name: str, defaults: Addresses, environ: Mapping[str, str] | None = None) -> Config:
    """Reads and checks the variables; relative paths resolve against the working directory."""
    env = os.environ if environ is None else environ
    prefix = f"SELENE_{engine_name.upper().replace('-', '_')}"

    def get(name: str, default: str) -> str:
        value = env.get(name, "")
        return default if value.strip() == "" else value.strip()

    addr = _address(f"{prefix}_ADDR", get(f"{prefix}_ADDR", defaults.addr))
    health_addr = _address(f"{prefix}_HEALTH_ADDR", get(f"{prefix}_HEALTH_ADDR", defaults.health_addr))
    metrics_addr = _address(f"{prefix}_METRICS_ADDR", get(f"{prefix}_METRICS_ADDR", defaults.metrics_addr))
    bound = [a for a in (addr, health_addr, metrics_addr) if not a.endswith(":0")]
    if len(set(bound)) != len(bound):
        raise ConfigError(
            f"{prefix}_ADDR, {prefix}_HEALTH_ADDR and {prefix}_METRICS_ADDR must differ, "
            f"got {addr}, {health_addr}, {metrics_addr}"
        )
    verbosity = get("GRPC_VERBOSITY", DEFAULT_GRPC_VERBOSITY).upper()
    if verbosity not in _GRPC_VERBOSITIES:
        raise ConfigError(f"GRPC_VERBOSITY must be one of {', '.join(_GRPC_VERBOSITIES)}, got {verbosity!r}")
    max_age = get("SELENE_MAX_CONNECTION_AGE_MS", str(DEFAULT_MAX_CONNECTION_AGE_MS))
    if not max_age.isascii() or not max_age.isdigit() or int(max_age) <= 0:
        raise ConfigError(f"SELENE_MAX_CONNECTION_AGE_MS must be a positive integer (ms), got {max_age!r}")
    return Config(
        pki_dir=os.path.abspath(get("SELENE_PKI_DIR", DEFAULT_PKI_DIR)),
        addr=addr,
        health_addr=health_addr,
        metrics_addr=metrics_addr,
        audit_addr=_address("SELENE_AUDIT_ADDR", get("SELENE_AUDIT_ADDR", DEFAULT_AUDIT_ADDR)),
        grpc_verbosity=verbosity,
        max_connection_age_ms=int(max_age),
    )


def _address(name: str, value: str) -> str:
    host, sep, port = value.rpartition(":")
    if sep == "" or host == "" or not port.isascii() or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"{name} must be host:port, got {value!r}")
    return value
