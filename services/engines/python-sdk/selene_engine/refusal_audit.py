"""Records the calls an engine refuses in the audit ledger, as the TypeScript engines do.

A refusal (a caller other than the router: MEDIATION_BYPASS; no SPIFFE identity: IDENTITY_MISSING)
becomes one selene.audit.v1 entry in the "_system" chain (the caller's tenant is not established),
gate IDENTITY, decision DENY, actor the engine. Entries wait in a bounded queue and a
background thread appends them in batches of at most 64 (AppendEvents' limit), so the refused call
is answered at once and a flood of them costs one append per batch. When the queue is full, or the
ledger cannot be reached, entries are dropped, counted and said in the log.

The channel presents the engine's certificate (<name>.crt) and trusts the mesh CA; the server's name is checked as the DNS name
"audit" of its certificate (deploy/pki.ts puts the workload name in every leaf's DNS SANs). Before
each batch the files are looked at again: re-issued ones (a rotation) replace the channel, so the
engine presents its current certificate without a restart.
"""

from __future__ import annotations

import os
import queue
import threading
import time

from . import boundary
import grpc
from . import jsonlog
from .identity import pki_files, workload_spiffe_id
from selene.audit.v1 import audit_pb2
from google.protobuf import timestamp_pb2
from selene.kernel.v1 import envelope_pb2, reason_pb2

SYSTEM_CHAIN = "_system"
BATCH = 64
MAX_PENDING = 10_000
APPEND_METHOD = "/selene.audit.v1.AuditService/AppendEvents"
CALL_TIMEOUT_SECONDS = 5.0


class RefusalAudit:
    """The recorder: `record` from any handler thread; `close` appends what waits and stops."""

    def __init__(self, audit_addr: str, pki_dir: str, engine_name: str) -> None:
        self._audit_addr = audit_addr
        self._files = pki_files(pki_dir, engine_name)
        self._actor = workload_spiffe_id(engine_name)
        self._stamp = self._read_stamp()
        self._channel = self._open_channel()
        self._append = self._stub()
        self._prefix = f"{engine_name}/refused/{os.urandom(6).hex()}"
        self._sequence = 0
        self._dropped = 0
        self._lock = threading.Lock()
        self._pending: queue.Queue[audit_pb2.AuditEntry | None] = queue.Queue(MAX_PENDING)
        self._thread = threading.Thread(target=self._run, name=f"{engine_name}-refusal-audit", daemon=True)
        self._thread.start()

    def record(self, caller: str | None, method: str, reason: str, correlation_id: str | None) -> None:
        with self._lock:
            self._sequence += 1
            sequence = self._sequence
        now = time.time()
        entry = audit_pb2.AuditEntry(
            tenant_id=SYSTEM_CHAIN,
            correlation_id=correlation_id or "uncorrelated",
            event=audit_pb2.AuditEvent(
                event_id=f"{self._prefix}/{sequence}",
                gate=audit_pb2.GATE_IDENTITY,
                decision=audit_pb2.DECISION_DENY,
                reason=_reason_number(reason),
                actor=self._actor,
                occurred_at=timestamp_pb2.Timestamp(seconds=int(now), nanos=int((now % 1) * 1e9)),
                attributes={"caller": caller or "", "method": method},
            ),
        )
        try:
            self._pending.put_nowait(entry)
        except queue.Full:
            self._drop(1, "too many refused calls to record")

    def close(self) -> None:
        self._pending.put(None)
        self._thread.join(timeout=CALL_TIMEOUT_SECONDS + 1)
        self._channel.close()

    def _run(self) -> None:
        while True:
            first = self._pending.get()
            if first is None:
                return
            batch = [first]
            stop = False
            while len(batch) < BATCH:
                try:
                    entry = self._pending.get(timeout=0.1)
                except queue.Empty:
                    break
                if entry is None:
                    stop = True
                    break
                batch.append(entry)
            self._send(batch)
            if stop:
                return

    def _read_stamp(self) -> tuple[tuple[int, int], ...]:
        stats = (os.stat(path) for path in (self._files.ca, self._files.cert, self._files.key))
        return tuple((s.st_mtime_ns, s.st_size) for s in stats)

    def _open_channel(self) -> grpc.Channel:
        files = self._files
        with open(files.ca, "rb") as ca, open(files.cert, "rb") as cert, open(files.key, "rb") as key:
            credentials = grpc.ssl_channel_credentials(ca.read(), key.read(), cert.read())
        return grpc.secure_channel(
            self._audit_addr, credentials, options=(("grpc.ssl_target_name_override", "audit"),)
        )

    def _stub(self):  # noqa: ANN202 - grpc's callable type is not public
        return self._channel.unary_unary(
            APPEND_METHOD,
            request_serializer=lambda message: message.SerializeToString(deterministic=True),
            response_deserializer=audit_pb2.AppendEventsResponse.FromString,
        )

    def _follow_rotation(self) -> None:
        """Replaces the channel when the files changed; keeps the current one while they cannot be read."""
        try:
            stamp = self._read_stamp()
            if stamp == self._stamp:
                return
            channel = self._open_channel()
        except OSError as err:
            jsonlog.warn("certificate reload failed; keeping the current certificate", error=str(err))
            return
        self._channel.close()
        self._stamp, self._channel = stamp, channel
        self._append = self._stub()
        jsonlog.info("certificate reloaded", cert=self._files.cert, client="audit")

    def _send(self, batch: list[audit_pb2.AuditEntry]) -> None:
        self._follow_rotation()
        request = audit_pb2.AppendEventsRequest(
            envelope=envelope_pb2.SystemEnvelope(
                contract_version=envelope_pb2.ContractVersion(
                    major=boundary.CURRENT_CONTRACT_VERSION.major, minor=boundary.CURRENT_CONTRACT_VERSION.minor
                ),
                correlation_id="refusals",
            ),
            entries=batch,
        )
        try:
            self._append(request, timeout=CALL_TIMEOUT_SECONDS, metadata=(("selene-correlation-id", "refusals"),))
        except grpc.RpcError as err:
            self._drop(len(batch), f"the audit ledger did not take them: {err.code().name}")

    def _drop(self, n: int, why: str) -> None:
        with self._lock:
            self._dropped += n
            dropped = self._dropped
        jsonlog.warn("audit degraded: refused calls not recorded", why=why, dropped=dropped)


def _reason_number(reason: str) -> int:
    return reason_pb2.ReasonCode.Value(f"REASON_CODE_{reason}")
