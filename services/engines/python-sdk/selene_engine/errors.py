"""Errors on the wire, as every Selene OS service sends them (docs/CONTRACTS.md).

A SeleneError names a reason from the one catalog (selene.kernel.v1.ReasonCode). Its gRPC
status and retryability come from the `reason_meta` option of that enum value in the generated
descriptor, so reason.proto stays the one place those facts live. `abort` puts it on the wire:
the status, the message "[REASON] text", a `selene-reason` trailer with the name, and an
RpcStatus (wire-compatible with google.rpc.Status) in `grpc-status-details-bin` whose details
hold one ErrorDetail packed as an Any. Nothing else about an error leaves the process.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import grpc
from google.protobuf import any_pb2
from selene.kernel.v1 import error_pb2, reason_pb2

STATUS_DETAILS_KEY = "grpc-status-details-bin"
REASON_KEY = "selene-reason"
_PREFIX = "REASON_CODE_"
_GRPC_STATUS = {code.value[0]: code for code in grpc.StatusCode}


@dataclass(frozen=True)
class ReasonInfo:
    number: int
    name: str
    status: grpc.StatusCode
    retryable: bool


def _build_catalog() -> dict[str, ReasonInfo]:
    catalog: dict[str, ReasonInfo] = {}
    for value in reason_pb2.ReasonCode.DESCRIPTOR.values:
        if value.number == reason_pb2.REASON_CODE_UNSPECIFIED:
            continue
        meta = value.GetOptions().Extensions[reason_pb2.reason_meta]
        status = _GRPC_STATUS.get(meta.status)
        if meta.status == reason_pb2.STATUS_CODE_UNSPECIFIED or status is None:
            raise RuntimeError(f"reason {value.name} has no usable reason_meta status in reason.proto")
        name = value.name[len(_PREFIX) :]
        catalog[name] = ReasonInfo(value.number, name, status, meta.retryable)
    return catalog


CATALOG: Mapping[str, ReasonInfo] = _build_catalog()


@dataclass(frozen=True)
class Violation:
    field_path: str
    rule_id: str
    message: str


def sort_violations(violations: Iterable[Violation]) -> list[Violation]:
    """The deterministic order: field path, then rule id, then message."""
    return sorted(violations, key=lambda v: (v.field_path, v.rule_id, v.message))


class SeleneError(Exception):
    """An outcome named by a reason code; `reason` is the catalog name, such as "FIELD_INVALID"."""

    def __init__(
        self,
        reason: str,
        message: str,
        *,
        field_path: str | None = None,
        violations: Iterable[Violation] = (),
        metadata: Mapping[str, str] | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message)
        info = CATALOG.get(reason)
        if info is None:
            raise ValueError(f"{reason} is not in the reason catalog")
        self.info = info
        self.reason = reason
        self.message = message
        self.violations = sort_violations(violations)
        self.field_path = field_path if field_path is not None else (self.violations[0].field_path if self.violations else "")
        self.metadata = dict(metadata or {})
        self.retryable = info.retryable if retryable is None else retryable

    @property
    def status(self) -> grpc.StatusCode:
        return self.info.status

    @property
    def wire_message(self) -> str:
        return f"[{self.reason}] {self.message}"

    def detail(self) -> error_pb2.ErrorDetail:
        return error_pb2.ErrorDetail(
            reason=self.info.number,
            retryable=self.retryable,
            field_path=self.field_path,
            metadata=self.metadata,
            violations=[
                error_pb2.FieldViolation(field_path=v.field_path, rule_id=v.rule_id, message=v.message)
                for v in self.violations
            ],
        )

    def status_details(self) -> bytes:
        """The bytes of the grpc-status-details-bin trailer."""
        packed = any_pb2.Any()
        # Deterministic inside the Any too: map entries (metadata) otherwise come out in any order,
        # and the same refused bytes must give the same error bytes.
        packed.Pack(self.detail(), deterministic=True)  # type URL type.googleapis.com/selene.kernel.v1.ErrorDetail
        status = error_pb2.RpcStatus(code=self.status.value[0], message=self.wire_message, details=[packed])
        return status.SerializeToString(deterministic=True)


def abort(context: grpc.ServicerContext, err: SeleneError) -> None:
    """Ends the call with the error; never returns (grpc raises to unwind the handler)."""
    context.set_trailing_metadata(((REASON_KEY, err.reason), (STATUS_DETAILS_KEY, err.status_details())))
    context.abort(err.status, err.wire_message)
