"""The calc engine as a contract 1.0 engine: its EngineService messages are built at run time from
the v1.0 release image (proto/releases/v1.0.binpb) with protobuf's descriptor pool, its Describe
announces 1.0 alone, and it refuses any other version with UNSUPPORTED_CONTRACT_VERSION naming 1.0,
as a 1.0 engine would. It evaluates with the calc engine's own evaluator and serves on the calc
engine's addresses and certificate (its configuration), so the mesh routes to it in calc's place.

    python3 v1_0_calc_engine.py IMAGE     (with the calc engine's environment)
"""

from __future__ import annotations

import os
import signal
import sys
import threading
from concurrent import futures

CALC = os.path.join(os.path.dirname(__file__), "..", "..", "..", "services", "engines", "calc")
sys.path.insert(0, os.path.abspath(CALC))

from calc_engine import DEFAULTS, SOURCE_ID, SOURCE_TRUST  # noqa: E402 - puts the SDK and the stubs on sys.path
from selene_engine.config import load_config  # noqa: E402

CONFIG = load_config("calc", DEFAULTS)

import time  # noqa: E402

import grpc  # noqa: E402
from selene_engine import health_service, identity  # noqa: E402
from selene_engine.digests import canonical_json, content_digest, sha256_digest  # noqa: E402
from evaluate import EvaluationError, evaluate, format_number  # noqa: E402
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory  # noqa: E402

SERVICE = "selene.engine.v1.EngineService"
VERSION = (1, 0)


def release_classes(image_path: str) -> dict[str, type]:
    with open(image_path, "rb") as f:
        image = descriptor_pb2.FileDescriptorSet.FromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for file in image.file:
        pool.Add(file)
    factory = message_factory.MessageFactory(pool)
    names = [
        "selene.engine.v1.DescribeRequest", "selene.engine.v1.DescribeResponse",
        "selene.engine.v1.InvokeRequest", "selene.engine.v1.InvokeResponse",
        "selene.engine.v1.SimulateRequest", "selene.engine.v1.CommitRequest",
        "selene.kernel.v1.ErrorDetail", "selene.kernel.v1.RpcStatus",
    ]
    classes = {name.rsplit(".", 1)[1]: factory.GetPrototype(pool.FindMessageTypeByName(name)) for name in names}
    classes["CapabilityKind"] = pool.FindEnumTypeByName("selene.engine.v1.CapabilityKind")
    classes["ReasonCode"] = pool.FindEnumTypeByName("selene.kernel.v1.ReasonCode")
    return classes


M = release_classes(sys.argv[1])


def refuse(context: grpc.ServicerContext, code: grpc.StatusCode, reason: str, text: str, metadata: dict) -> None:
    detail = M["ErrorDetail"](reason=M["ReasonCode"].values_by_name[f"REASON_CODE_{reason}"].number)
    for key, value in metadata.items():
        detail.metadata[key] = value
    status = M["RpcStatus"](code=code.value[0], message=f"[{reason}] {text}")
    any_detail = status.details.add()
    any_detail.Pack(detail)
    context.set_trailing_metadata((("selene-reason", reason), ("grpc-status-details-bin", status.SerializeToString())))
    context.abort(code, f"[{reason}] {text}")


def at_1_0(request: object, context: grpc.ServicerContext) -> None:
    version = request.envelope.contract_version
    if (version.major, version.minor) != VERSION:
        refuse(
            context, grpc.StatusCode.FAILED_PRECONDITION, "UNSUPPORTED_CONTRACT_VERSION",
            f"contract version {version.major}.{version.minor} is not supported; supported versions: 1.0",
            {"received_version": f"{version.major}.{version.minor}", "supported_min": "1.0", "supported_max": "1.0"},
        )


def describe(request: object, context: grpc.ServicerContext) -> object:
    at_1_0(request, context)
    response = M["DescribeResponse"](engine_id="calc", spiffe_id=identity.workload_spiffe_id("calc"))
    capability = response.capabilities.add()
    capability.name = "calc.evaluate"
    capability.kind = M["CapabilityKind"].values_by_name["CAPABILITY_KIND_READ"].number
    capability.required_fields.append("expression")
    supported = response.supported_versions.add()
    supported.major, supported.minor = VERSION
    return response


def invoke(request: object, context: grpc.ServicerContext) -> object:
    at_1_0(request, context)
    expression = request.read.args.get("expression", "")
    try:
        result = format_number(evaluate(expression))
    except EvaluationError as err:
        refuse(context, grpc.StatusCode.INVALID_ARGUMENT, "FIELD_INVALID", err.message, {})
    text = f"{expression.strip()} = {result}"
    data = {"expression": expression.strip(), "result": result}
    response = M["InvokeResponse"]()
    read = response.read_result
    read.text = text
    for key, value in data.items():
        read.data[key] = value
    now_ms = int(time.time() * 1000)
    source = read.provenance.sources.add(id=SOURCE_ID, trust=SOURCE_TRUST, content_digest=sha256_digest(canonical_json(data)))
    source.retrieved_at.FromMilliseconds(now_ms)
    read.provenance.retrieved_at.FromMilliseconds(now_ms)
    read.provenance.content_digest = content_digest(text, data)
    read.provenance.freshness.state = 3  # FRESHNESS_STATE_LIVE
    return response


def no_effects(request: object, context: grpc.ServicerContext) -> object:
    refuse(context, grpc.StatusCode.FAILED_PRECONDITION, "ENGINE_REJECTED", "the calc engine has no effects", {})


def handler(method, request_class: type) -> grpc.RpcMethodHandler:
    return grpc.unary_unary_rpc_method_handler(
        method, request_deserializer=request_class.FromString, response_serializer=lambda m: m.SerializeToString()
    )


def main() -> int:
    handlers = {
        "Describe": handler(describe, M["DescribeRequest"]),
        "Invoke": handler(invoke, M["InvokeRequest"]),
        "Simulate": handler(no_effects, M["SimulateRequest"]),
        "Commit": handler(no_effects, M["CommitRequest"]),
    }
    health = health_service.HealthService()
    engine = grpc.server(futures.ThreadPoolExecutor(max_workers=4), options=(("grpc.so_reuseport", 0),))
    engine.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE, handlers),))
    engine.add_secure_port(CONFIG.addr, identity.server_credentials(CONFIG.pki_dir, "calc"))
    probes = grpc.server(futures.ThreadPoolExecutor(max_workers=2), options=(("grpc.so_reuseport", 0),))
    health_service.add_to_server(health, probes)
    probes.add_insecure_port(CONFIG.health_addr)
    engine.start()
    probes.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print('{"msg": "v1.0 calc engine serving"}', flush=True)
    stop.wait()
    engine.stop(1).wait()
    probes.stop(0).wait()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
