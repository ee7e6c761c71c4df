"""selene.engine.v1.EngineService for any Python engine: the gates every call runs, then the engine.

Every call runs the same gates, in order: the caller must be the router (mediation: engines are
reachable through the router only), then the request must pass the boundary check, then the
engine's method runs and its response is checked against the contract before it leaves. Requests
arrive as raw bytes (no deserializer), so that undecodable bytes are refused with a reason code
like any other bad input instead of grpc's bare INTERNAL. Responses are serialized
deterministically: the same answer gives the same bytes.

An engine (engine.py) describes its capabilities and answers Invoke, Simulate and Commit; a call
naming a capability it does not describe, or of the wrong kind, is refused here before it runs.
"""

from __future__ import annotations

import re
import time
import traceback
from collections.abc import Callable
from typing import Any

import grpc
from google.protobuf.message import Message
from selene.engine.v1 import engine_pb2
from selene.kernel.v1 import envelope_pb2

from . import boundary, jsonlog, rpc_metrics, trace_context
from .engine import Engine
from .errors import SeleneError, abort
from .identity import ALLOWED_CALLERS, peer_spiffe_id, workload_spiffe_id

SERVICE = "selene.engine.v1.EngineService"
CORRELATION_HEADER = "selene-correlation-id"
_CORRELATION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")

# The request class and the response class of each method.
METHODS: dict[str, tuple[type[Message], type[Message]]] = {
    "Describe": (engine_pb2.DescribeRequest, engine_pb2.DescribeResponse),
    "Invoke": (engine_pb2.InvokeRequest, engine_pb2.InvokeResponse),
    "Simulate": (engine_pb2.SimulateRequest, engine_pb2.SimulateResponse),
    "Commit": (engine_pb2.CommitRequest, engine_pb2.CommitResponse),
}


class EngineService:
    """Serves `engine`; `on_refused(caller, method, reason, correlation_id)` hears of every refused caller."""

    def __init__(
        self,
        engine: Engine,
        on_refused: Callable[[str | None, str, str, str | None], None] | None = None,
    ) -> None:
        self._engine = engine
        self._on_refused = on_refused
        self._spiffe_id = workload_spiffe_id(engine.name)
        self._describe = engine_pb2.DescribeResponse(
            engine_id=engine.name,
            spiffe_id=self._spiffe_id,
            capabilities=engine.capabilities(),
            supported_versions=[
                envelope_pb2.ContractVersion(major=v.major, minor=v.minor) for v in boundary.SUPPORTED
            ],
        )
        boundary.check_rules(self._describe)  # a description that breaks the contract stops the engine at start
        self._kinds = {capability.name: capability.kind for capability in self._describe.capabilities}

    def generic_handler(self) -> grpc.GenericRpcHandler:
        implementations = {
            "Describe": self.describe,
            "Invoke": lambda request: self._engine.invoke(request),
            "Simulate": lambda request: self._engine.simulate(request),
            "Commit": lambda request: self._engine.commit(request),
        }
        handlers = {
            name: grpc.unary_unary_rpc_method_handler(
                self._gated(name, METHODS[name][0], implementation),
                request_deserializer=None,  # raw bytes: the boundary decodes
                response_serializer=lambda message: message.SerializeToString(deterministic=True),
            )
            for name, implementation in implementations.items()
        }
        return grpc.method_handlers_generic_handler(SERVICE, handlers)

    def _gated(
        self, method: str, request_class: type[Message], implementation: Callable[[Any], Message]
    ) -> Callable[[bytes, grpc.ServicerContext], Message]:
        full_method = f"/{SERVICE}/{method}"

        def handler(data: bytes, context: grpc.ServicerContext) -> Message:
            started = time.perf_counter()
            correlation_id: str | None = None
            trace = trace_context.log_fields(trace_context.from_metadata(context.invocation_metadata()))
            try:
                caller = peer_spiffe_id(context)
                if caller not in ALLOWED_CALLERS:
                    correlation_id = _peek_correlation_id(request_class, data) or _header_correlation_id(context)
                    refused = _refuse_caller(caller, self._engine.name, self._spiffe_id, full_method, correlation_id, trace)
                    if self._on_refused is not None:
                        self._on_refused(caller, full_method, refused.reason, correlation_id)
                    raise refused
                request = boundary.decode(request_class, data)
                correlation_id = request.envelope.correlation_id
                if method != "Describe":
                    self._check_capability(method, request.capability)
                response = implementation(request)
                _check_response(response, full_method, correlation_id, trace)
                warning = boundary.deprecation_warning(request)
                if warning is not None:
                    context.send_initial_metadata(((boundary.DEPRECATION_HEADER, warning),))
                    rpc_metrics.record_deprecated(full_method, "version", warning.split()[1])
                rpc_metrics.record(full_method, "OK", None, time.perf_counter() - started)
                return response
            except SeleneError as err:
                refusal = err
            except Exception as err:  # a bug: details stay in the log, the wire gets INTERNAL
                jsonlog.error(
                    "unexpected fault",
                    method=full_method,
                    correlation_id=correlation_id,
                    error=repr(err),
                    stack=traceback.format_exc(),
                    **trace,
                )
                refusal = SeleneError("INTERNAL", "internal error; the engine's logs have the details")
            if refusal.reason not in ("MEDIATION_BYPASS", "IDENTITY_MISSING"):
                jsonlog.info(
                    "request refused",
                    method=full_method,
                    reason=refusal.reason,
                    field_path=refusal.field_path or None,
                    correlation_id=correlation_id,
                    **trace,
                )
            rpc_metrics.record(full_method, refusal.status.name, refusal.reason, time.perf_counter() - started)
            abort(context, refusal)
            raise AssertionError("unreachable: abort raises")

        return handler

    def describe(self, _request: engine_pb2.DescribeRequest) -> engine_pb2.DescribeResponse:
        response = engine_pb2.DescribeResponse()
        response.CopyFrom(self._describe)
        return response

    def _check_capability(self, method: str, capability: str) -> None:
        kind = self._kinds.get(capability)
        if kind is None:
            served = ", ".join(sorted(self._kinds))
            raise SeleneError(
                "CAPABILITY_UNKNOWN",
                f"the {self._engine.name} engine does not serve {capability}; it serves {served}",
                field_path="capability",
            )
        is_effect = kind == engine_pb2.CAPABILITY_KIND_EFFECT
        if (method == "Invoke") == is_effect:
            raise SeleneError(
                "ENGINE_REJECTED",
                f"{capability} is {'an effect: Simulate, then Commit it' if is_effect else 'not an effect: Invoke it'}",
                field_path="capability",
            )


def _refuse_caller(
    caller: str | None,
    engine_name: str,
    engine_spiffe_id: str,
    method: str,
    correlation_id: str | None,
    trace: dict[str, str],
) -> SeleneError:
    jsonlog.warn(
        "caller refused: engines accept calls from the router only",
        caller_spiffe_id=caller or "(none)",
        engine_spiffe_id=engine_spiffe_id,
        method=method,
        correlation_id=correlation_id,
        reason="MEDIATION_BYPASS" if caller is not None else "IDENTITY_MISSING",
        **trace,
    )
    if caller is None:
        return SeleneError("IDENTITY_MISSING", "the client certificate carries no single SPIFFE id")
    return SeleneError("MEDIATION_BYPASS", f"{caller} may not call the {engine_name} engine; engines serve the router only")


def _peek_correlation_id(request_class: type[Message], data: bytes) -> str | None:
    """The envelope's correlation id of a refused request, for the log, when the bytes decode."""
    if len(data) > boundary.MAX_MESSAGE_BYTES:
        return None
    message = request_class()
    try:
        message.ParseFromString(data)
    except Exception:  # noqa: BLE001 - any decoding failure just means "unknown"
        return None
    candidate = message.envelope.correlation_id
    return candidate if _CORRELATION_ID.match(candidate) else None


def _header_correlation_id(context: grpc.ServicerContext) -> str | None:
    for key, value in context.invocation_metadata():
        if key == CORRELATION_HEADER and isinstance(value, str) and _CORRELATION_ID.match(value):
            return value
    return None


def _check_response(response: Message, method: str, correlation_id: str, trace: dict[str, str]) -> None:
    """A response that breaks its contract is a bug here: logged, and never sent."""
    try:
        boundary.check_rules(response)
    except SeleneError as err:
        jsonlog.error(
            "response breaks its contract",
            method=method,
            correlation_id=correlation_id,
            violations=[f"{v.field_path}: {v.rule_id}" for v in err.violations],
            **trace,
        )
        raise SeleneError("INTERNAL", "internal error; the engine's logs have the details") from None
