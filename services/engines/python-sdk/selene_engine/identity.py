"""mTLS identity of an engine: its SPIFFE id, its one allowed caller, its credentials.

The names mirror services/runtime/workload-identities.ts (trust domain selene.local, workloads
in namespace "selene"): an engine named N serves as spiffe://selene.local/ns/selene/sa/N and accepts
calls only from the router. The TLS handshake has already verified the client certificate
against the CA (client auth is required); a call's identity is then the certificate's SPIFFE id,
present only when the certificate carries exactly one URI SAN and it is a valid SPIFFE id, as in
services/runtime/spiffe-id.ts. Anything ambiguous yields no identity.

The server credentials re-read the PKI files when they change, so rotated short-lived
certificates (deploy/pki.ts issues 24 h leaves) are served on new connections without a restart.
"""

from __future__ import annotations

import os
import re
import threading
from dataclasses import dataclass

import grpc
from . import jsonlog

TRUST_DOMAIN = "selene.local"
MAX_SPIFFE_ID_BYTES = 2048
_TRUST_DOMAIN_CHARS = re.compile(r"[a-z0-9._-]+\Z")
_SEGMENT_CHARS = re.compile(r"[A-Za-z0-9._-]+\Z")


def workload_spiffe_id(name: str) -> str:
    return f"spiffe://{TRUST_DOMAIN}/ns/selene/sa/{name}"


ROUTER_SPIFFE_ID = workload_spiffe_id("router")
# Engines are reachable through the router only.
ALLOWED_CALLERS = frozenset({ROUTER_SPIFFE_ID})


def is_spiffe_id(uri: str) -> bool:
    """Whether `uri` is spiffe://<trust domain>/<path> with no port, userinfo, query or fragment."""
    if len(uri.encode("utf-8")) > MAX_SPIFFE_ID_BYTES or not uri.startswith("spiffe://"):
        return False
    rest = uri[len("spiffe://") :]
    slash = rest.find("/")
    if slash <= 0 or not _TRUST_DOMAIN_CHARS.match(rest[:slash]):
        return False
    segments = rest[slash + 1 :].split("/")
    return all(_SEGMENT_CHARS.match(s) and s not in (".", "..") for s in segments)


def peer_spiffe_id(context: grpc.ServicerContext) -> str | None:
    """The SPIFFE id of the call's verified client certificate, or None."""
    auth = context.auth_context()
    if auth.get("transport_security_type") != [b"ssl"]:
        return None
    uris = auth.get("peer_uri", [])
    if len(uris) != 1:
        return None
    try:
        uri = uris[0].decode("utf-8")
    except UnicodeDecodeError:
        return None
    return uri if is_spiffe_id(uri) else None


@dataclass(frozen=True)
class PkiFiles:
    ca: str
    cert: str
    key: str


def pki_files(pki_dir: str, name: str) -> PkiFiles:
    return PkiFiles(
        ca=os.path.join(pki_dir, "ca.crt"),
        cert=os.path.join(pki_dir, f"{name}.crt"),
        key=os.path.join(pki_dir, f"{name}.key"),
    )


class _RotatingCertificates:
    """Serves the current files; re-reads them when a new connection sees a changed mtime or size."""

    def __init__(self, files: PkiFiles) -> None:
        self._files = files
        self._lock = threading.Lock()
        self._stamp = self._read_stamp()
        self.initial = self._configuration()

    def _read_stamp(self) -> tuple[tuple[int, int], ...]:
        stats = (os.stat(path) for path in (self._files.ca, self._files.cert, self._files.key))
        return tuple((s.st_mtime_ns, s.st_size) for s in stats)

    def _configuration(self) -> grpc.ServerCertificateConfiguration:
        ca, cert, key = (_read_pem(path) for path in (self._files.ca, self._files.cert, self._files.key))
        return grpc.ssl_server_certificate_configuration([(key, cert)], root_certificates=ca)

    def fetch(self) -> grpc.ServerCertificateConfiguration | None:
        """Called by grpc on each new connection: a new configuration, or None to keep the current one."""
        with self._lock:
            try:
                stamp = self._read_stamp()
                if stamp == self._stamp:
                    return None
                configuration = self._configuration()
            except (OSError, ValueError) as err:
                # Mid-rotation or gone: keep serving the last good files; look again next connection.
                jsonlog.warn("certificate reload failed; keeping the current certificate", error=str(err))
                return None
            self._stamp = stamp
            jsonlog.info("certificate reloaded", cert=self._files.cert)
            return configuration


def _read_pem(path: str) -> bytes:
    with open(path, "rb") as handle:
        data = handle.read()
    if b"-----BEGIN " not in data:
        raise ValueError(f"{path} is not a PEM file")
    return data


def server_credentials(pki_dir: str, name: str) -> grpc.ServerCredentials:
    """Credentials that present <name>.crt and require a client certificate signed by the CA."""
    certificates = _RotatingCertificates(pki_files(pki_dir, name))
    return grpc.dynamic_ssl_server_credentials(
        certificates.initial, certificates.fetch, require_client_authentication=True
    )
