"""The boundary check of every request (and response) of an engine, as docs/CONTRACTS.md
prescribes for every service in any language. In this order, first failure wins:

    size over 64 KiB                               INVALID_ARGUMENT     MESSAGE_TOO_LARGE
    bytes that are not a valid encoding            INVALID_ARGUMENT     MALFORMED_MESSAGE
    envelope.contract_version outside N and N-1    FAILED_PRECONDITION  UNSUPPORTED_CONTRACT_VERSION
    a field number the contract does not declare   INVALID_ARGUMENT     UNKNOWN_FIELD
    a protovalidate rule of the contract           INVALID_ARGUMENT     FIELD_INVALID

The version check comes before the unknown-field check, so a client of a newer version learns
that its version is the problem. The same bytes always give the same error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from . import rules
from . import wire_scan
from .errors import SeleneError, Violation, sort_violations
from google.protobuf.message import DecodeError, Message
from selene.kernel.v1 import version_pb2

MAX_MESSAGE_BYTES = 64 * 1024

M = TypeVar("M", bound=Message)


@dataclass(frozen=True)
class Version:
    major: int
    minor: int

    def __str__(self) -> str:
        return f"{self.major}.{self.minor}"


def declared_version() -> Version:
    """The version of the contracts in proto/: the contract_version option of
    selene/kernel/v1/version.proto, the one place it is declared (TypeScript reads the same)."""
    declared = version_pb2.DESCRIPTOR.GetOptions().Extensions[version_pb2.contract_version]
    if declared.major == 0:
        raise RuntimeError("selene/kernel/v1/version.proto declares no contract_version")
    return Version(declared.major, declared.minor)


CURRENT_CONTRACT_VERSION = declared_version()


def supported_versions(current: Version = CURRENT_CONTRACT_VERSION) -> list[Version]:
    """N and N-1 of the same major, oldest first."""
    return [Version(current.major, minor) for minor in range(max(0, current.minor - 1), current.minor + 1)]


SUPPORTED = supported_versions()


def decode(message_class: type[M], data: bytes) -> M:
    """Checks `data` as a `message_class` and returns the message; raises SeleneError."""
    descriptor = message_class.DESCRIPTOR
    if len(data) > MAX_MESSAGE_BYTES:
        raise SeleneError(
            "MESSAGE_TOO_LARGE",
            f"message of {len(data)} bytes exceeds the limit of {MAX_MESSAGE_BYTES} bytes",
            metadata={"limit_bytes": str(MAX_MESSAGE_BYTES), "size_bytes": str(len(data))},
        )
    try:
        unknown = wire_scan.scan(descriptor, data)
    except wire_scan.MalformedWire as err:
        where = "" if err.path == "" else f"{err.path}: "
        raise SeleneError(
            "MALFORMED_MESSAGE",
            f"malformed {descriptor.full_name}: {where}{err.message}",
            violations=[Violation(err.path, err.rule_id, err.message)],
        ) from None
    message = message_class()
    try:
        message.ParseFromString(data)
    except DecodeError:
        raise SeleneError("MALFORMED_MESSAGE", f"malformed {descriptor.full_name}: invalid protobuf encoding") from None
    check_version(message)
    if unknown:
        raise violation_error(
            "UNKNOWN_FIELD",
            [
                Violation(u.path, "unknown_field", f"unknown field number {u.field_number} ({wire_scan.wire_type_name(u.wire_type)})")
                for u in unknown
            ],
        )
    check_rules(message)
    return message


def check_version(message: Message) -> None:
    """Requests carry envelope.contract_version as field 1; other messages have no version to check."""
    fields = message.DESCRIPTOR.fields
    if not fields or fields[0].name != "envelope" or fields[0].message_type is None:
        return
    envelope_fields = fields[0].message_type.fields
    if not envelope_fields or envelope_fields[0].name != "contract_version":
        return
    if not message.HasField("envelope") or not message.envelope.HasField("contract_version"):
        return  # a missing version is a rule violation, reported by check_rules
    received = Version(message.envelope.contract_version.major, message.envelope.contract_version.minor)
    if received in SUPPORTED:
        return
    low, high = SUPPORTED[0], SUPPORTED[-1]
    supported = str(low) if low == high else f"{low}-{high}"
    raise SeleneError(
        "UNSUPPORTED_CONTRACT_VERSION",
        f"contract version {received} is not supported; supported versions: {supported}",
        field_path="envelope.contract_version",
        metadata={"received_version": str(received), "supported_min": str(low), "supported_max": str(high)},
    )


DEPRECATION_HEADER = "selene-deprecation"


def deprecation_warning(message: Message) -> str | None:
    """The warning a request at a deprecated contract version (older than N) gets in the response
    metadata, as the Node services' boundary gives it (contract-negotiation.ts); None at N."""
    if not message.DESCRIPTOR.fields or message.DESCRIPTOR.fields[0].name != "envelope":
        return None
    if not message.envelope.HasField("contract_version"):
        return None
    received = Version(message.envelope.contract_version.major, message.envelope.contract_version.minor)
    if received == CURRENT_CONTRACT_VERSION:
        return None
    return f"contract {received} is deprecated; current is {CURRENT_CONTRACT_VERSION}"


def check_rules(message: Message) -> None:
    violations = rules.validate(message)
    if violations:
        raise violation_error("FIELD_INVALID", violations)


def violation_error(reason: str, violations: list[Violation]) -> SeleneError:
    ordered = sort_violations(violations)
    first = ordered[0]
    more = f" (and {len(ordered) - 1} more)" if len(ordered) > 1 else ""
    return SeleneError(reason, f"{first.field_path or 'message'}: {first.message}{more}", violations=ordered)
