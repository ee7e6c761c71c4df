"""The calc engine's configuration: the only reader of the environment, validated and frozen.

SELENE_PKI_DIR           the mTLS files: ca.crt, calc.crt, calc.key   (default .selene/pki)
SELENE_CALC_ADDR         host:port of the mTLS EngineService           (default 127.0.0.1:50064)
SELENE_CALC_HEALTH_ADDR  host:port of the plaintext health-only port  (default 127.0.0.1:50164)
SELENE_CALC_METRICS_ADDR host:port of the plaintext metrics port      (default 127.0.0.1:50264)
SELENE_PYTHON_STUBS      the generated code (scripts/gen-python.ts)    (default gen/python)
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
DEFAULT_ADDR = "127.0.0.1:50064"
DEFAULT_HEALTH_ADDR = "127.0.0.1:50164"
DEFAULT_METRICS_ADDR = "127.0.0.1:50264"
DEFAULT_AUDIT_ADDR = "127.0.0.1:50072"
DEFAULT_PYTHON_STUBS = "gen/python"
DEFAULT_GRPC_VERBOSITY = "NONE"
DEFAULT_MAX_CONNECTION_AGE_MS = 30 * 60_000
_GRPC_VERBOSITIES = ("NONE", "ERROR", "INFO", "DEBUG")


class ConfigError(ValueError):
    """A variable holds a value the engine cannot use; the message names it."""


@dataclass(frozen=True)
class Config:
    pki_dir: str
    addr: str
    health_addr: str
    metrics_addr: str
    audit_addr: str
    python_stubs: str
    grpc_verbosity: str
    max_connection_age_ms: int


def load_config(environ: Mapping[str, str] | None = None) -> Config:
    """Reads and checks the variables; relative paths resolve against the working directory."""
    env = os.environ if environ is None else environ

    def get(name: str, default: str) -> str:
        value = env.get(name, "")
        return default if value.strip() == "" else value.strip()

    addr = _address("SELENE_CALC_ADDR", get("SELENE_CALC_ADDR", DEFAULT_ADDR))
    health_addr = _address("SELENE_CALC_HEALTH_ADDR", get("SELENE_CALC_HEALTH_ADDR", DEFAULT_HEALTH_ADDR))
    metrics_addr = _address("SELENE_CALC_METRICS_ADDR", get("SELENE_CALC_METRICS_ADDR", DEFAULT_METRICS_ADDR))
    bound = [a for a in (addr, health_addr, metrics_addr) if not a.endswith(":0")]
    if len(set(bound)) != len(bound):
        raise ConfigError(
            "SELENE_CALC_ADDR, SELENE_CALC_HEALTH_ADDR and SELENE_CALC_METRICS_ADDR must differ, "
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
        python_stubs=os.path.abspath(get("SELENE_PYTHON_STUBS", DEFAULT_PYTHON_STUBS)),
        grpc_verbosity=verbosity,
        max_connection_age_ms=int(max_age),
    )


def _address(name: str, value: str) -> str:
    host, sep, port = value.rpartition(":")
    if sep == "" or host == "" or not port.isascii() or not port.isdigit() or int(port) > 65535:
        raise ConfigError(f"{name} must be host:port, got {value!r}")
    return value
