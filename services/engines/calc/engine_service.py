"""selene.engine.v1.EngineService of the calc engine: one READ capability, calc.evaluate.

Every call runs the same gates, in order: the caller must be the router (mediation: engines are
reachable through the router only), then the request must pass the boundary check, then the
method runs and its response is checked against the contract before it leaves. Requests arrive
as raw bytes (no deserializer), so that undecodable bytes are refused with a reason code like any
other bad input instead of grpc's bare INTERNAL.

Invoke reads `read.args["expression"]`, evaluates it (evaluate.py) and answers a ReadResult with
Provenance: one source `calc:python` (trust 100), retrieved now, LIVE, and
content_digest = "sha256:" + sha256(canonical JSON of {"data": data, "text": text}), the same
canonical form as services/runtime/content-digest.ts. The engine has no effects, so Simulate and
Commit are refused with ENGINE_REJECTED, as is an utterance (it understands none).

The blocking fields Describe publishes, and what makes the expression count as missing, are the
clarify policy's (clarify_policy.py reads policy/clarify.json, the router's file); a missing
expression is refused with the policy's question as the message.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
import traceback
from collections.abc import Callable
from typing import Any

import boundary
import grpc
import jsonlog
import rpc_metrics
import trace_context
from clarify_policy import ClarifyPolicy, load_policy
from errors import SeleneError, Violation, abort
from evaluate import EvaluationError, evaluate, format_number
from google.protobuf.message import Message
from identity import ALLOWED_CALLERS, ENGINE_NAME, ENGINE_SPIFFE_ID, peer_spiffe_id
from selene.engine.v1 import engine_pb2
from selene.kernel.v1 import envelope_pb2, provenance_pb2

SERVICE = "selene.engine.v1.EngineService"
CAPABILITY = "calc.evaluate"
EXPRESSION = "expression"
EXPRESSION_PATH = 'read.args["expression"]'
SOURCE_ID = "calc:python"
SOURCE_TRUST = 100
CORRELATION_HEADER = "selene-correlation-id"
_CORRELATION_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}\Z")

# The request class and the response class of each method.
METHODS: dict[str, tuple[type[Message], type[Message]]] = {
    "Describe": (engine_pb2.DescribeRequest, engine_pb2.DescribeResponse),
    "Invoke": (engine_pb2.InvokeRequest, engine_pb2.InvokeResponse),
    "Simulate": (engine_pb2.SimulateRequest, engine_pb2.SimulateResponse),
    "Commit": (engine_pb2.CommitRequest, engine_pb2.CommitResponse),
}


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace; equal values give equal strings in every service."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def sha256_digest(text: str) -> str:
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def content_digest(text: str, data: dict[str, str]) -> str:
    return sha256_digest(canonical_json({"data": data, "text": text}))


class EngineService:
    """The handlers; `clock` returns epoch seconds (a parameter for tests)."""

    def __init__(
        self,
        clock: Callable[[], float] = time.time,
        on_refused: Callable[[str | None, str, str, str | None], None] | None = None,
        policy: ClarifyPolicy | None = None,
    ) -> None:
        """`on_refused(caller, method, reason, correlation_id)` hears of every refused caller."""
        self._clock = clock
        self._on_refused = on_refused
        self._policy = policy if policy is not None else load_policy((CAPABILITY,))
        self._describe = engine_pb2.DescribeResponse(
            engine_id=ENGINE_NAME,
            spiffe_id=ENGINE_SPIFFE_ID,
            capabilities=[
                engine_pb2.Capability(
                    name=CAPABILITY,
                    kind=engine_pb2.CAPABILITY_KIND_READ,
                    required_fields=[rule.field for rule in self._policy.blocking_fields(CAPABILITY)],
                )
            ],
            supported_versions=[
                envelope_pb2.ContractVersion(major=v.major, minor=v.minor) for v in boundary.SUPPORTED
            ],
        )

    def generic_handler(self) -> grpc.GenericRpcHandler:
        implementations = {
            "Describe": self.describe,
            "Invoke": self.invoke,
            "Simulate": self.simulate,
            "Commit": self.commit,
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
                    refused = _refuse_caller(caller, full_method, correlation_id, trace)
                    if self._on_refused is not None:
                        self._on_refused(caller, full_method, refused.reason, correlation_id)
                    raise refused
                request = boundary.decode(request_class, data)
                correlation_id = request.envelope.correlation_id
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

    def invoke(self, request: engine_pb2.InvokeRequest) -> engine_pb2.InvokeResponse:
        if request.capability != CAPABILITY:
            raise SeleneError(
                "CAPABILITY_UNKNOWN",
                f"the calc engine does not serve {request.capability}; it serves {CAPABILITY}",
                field_path="capability",
            )
        if request.WhichOneof("input") != "read":
            raise SeleneError(
                "ENGINE_REJECTED",
                f'{CAPABILITY} is a read: send read.args["{EXPRESSION}"]; the calc engine understands no utterances',
                field_path="utterance",
            )
        expression = _expression(request.read.args, self._policy)
        try:
            value = evaluate(expression)
        except EvaluationError as err:
            raise boundary.violation_error(
                "FIELD_INVALID", [Violation(EXPRESSION_PATH, f"calc.{err.code}", err.message)]
            ) from None
        return engine_pb2.InvokeResponse(read_result=self._read_result(expression.strip(" \t"), format_number(value)))

    def simulate(self, request: engine_pb2.SimulateRequest) -> engine_pb2.SimulateResponse:
        raise _no_effects(request.capability)

    def commit(self, request: engine_pb2.CommitRequest) -> engine_pb2.CommitResponse:
        raise _no_effects(request.capability)

    def _read_result(self, expression: str, result: str) -> engine_pb2.ReadResult:
        text = f"{expression} = {result}"
        data = {"expression": expression, "result": result}
        now_ms = int(self._clock() * 1000)
        provenance = provenance_pb2.Provenance(
            sources=[
                provenance_pb2.Source(
                    id=SOURCE_ID,
                    trust=SOURCE_TRUST,
                    content_digest=sha256_digest(canonical_json(data)),  # what the source contributed
                )
            ],
            content_digest=content_digest(text, data),
            freshness=provenance_pb2.Freshness(state=provenance_pb2.FRESHNESS_STATE_LIVE),
        )
        provenance.sources[0].retrieved_at.FromMilliseconds(now_ms)
        provenance.retrieved_at.FromMilliseconds(now_ms)
        return engine_pb2.ReadResult(text=text, data=data, provenance=provenance)


def _expression(args: Any, policy: ClarifyPolicy) -> str:
    extra = sorted(key for key in args if key != EXPRESSION)
    if extra:
        raise boundary.violation_error(
            "FIELD_INVALID",
            [
                Violation(f"read.args[{json.dumps(key, ensure_ascii=False)}]", "calc.unknown_argument",
                          f"{CAPABILITY} takes no argument {key!r}; it takes only {EXPRESSION!r}")
                for key in extra
            ],
        )
    missing = policy.first_missing(CAPABILITY, dict(args))
    if missing is not None:
        rule, because = missing
        rule_id = "required" if because in ("absent", "empty") else f"clarify.{because}"
        path = f"read.args[{json.dumps(rule.field, ensure_ascii=False)}]"
        raise boundary.violation_error("FIELD_INVALID", [Violation(path, rule_id, policy.question(rule))])
    return args.get(EXPRESSION, "")


def _no_effects(capability: str) -> SeleneError:
    return SeleneError(
        "ENGINE_REJECTED",
        f"the calc engine has no effects: {capability or 'a capability'} cannot be simulated or committed here",
        field_path="capability",
    )


def _refuse_caller(
    caller: str | None, method: str, correlation_id: str | None, trace: dict[str, str]
) -> SeleneError:
    jsonlog.warn(
        "caller refused: engines accept calls from the router only",
        caller_spiffe_id=caller or "(none)",
        engine_spiffe_id=ENGINE_SPIFFE_ID,
        method=method,
        correlation_id=correlation_id,
        reason="MEDIATION_BYPASS" if caller is not None else "IDENTITY_MISSING",
        **trace,
    )
    if caller is None:
        return SeleneError("IDENTITY_MISSING", "the client certificate carries no single SPIFFE id")
    return SeleneError("MEDIATION_BYPASS", f"{caller} may not call the calc engine; engines serve the router only")


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
