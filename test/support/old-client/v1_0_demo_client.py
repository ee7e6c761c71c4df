"""A client of contract 1.0, as it was released: its message classes are built at run time from
the v1.0 release image (proto/releases/v1.0.binpb, a FileDescriptorSet) with protobuf's descriptor
pool, so no protoc and no generated code of today's contracts are involved. It runs the demo
conversation (deploy/demo-conversation.ts) against the router over mTLS as the demo app and
prints one JSON line per turn: the outcome it decoded, whether the answer held fields 1.0 does not
know, and the selene-deprecation header.

    python3 v1_0_demo_client.py IMAGE ADDRESS PKI_DIR RUN_ID
"""

from __future__ import annotations

import json
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

UTTERANCES = [
    "What is the capital of France?",
    "Remind me to call mom",
    "Remind me to call mom tomorrow at 5pm",
    "confirm",
    "What is (3 + 4) * 2?",
]


def release_classes(image_path: str) -> tuple[type, type]:
    """SubmitTurnRequest and SubmitTurnResponse of the release image."""
    with open(image_path, "rb") as f:
        image = descriptor_pb2.FileDescriptorSet.FromString(f.read())
    pool = descriptor_pool.DescriptorPool()
    for file in image.file:  # buf images list every file after its imports
        pool.Add(file)
    # MessageFactory.GetPrototype: Debian's protobuf (4.21) predates message_factory.GetMessageClass.
    factory = message_factory.MessageFactory(pool)
    request = factory.GetPrototype(pool.FindMessageTypeByName("selene.os.v1.SubmitTurnRequest"))
    response = factory.GetPrototype(pool.FindMessageTypeByName("selene.os.v1.SubmitTurnResponse"))
    return request, response


def has_unknown_fields(message: object) -> bool:
    """Whether the decoded answer kept bytes its (1.0) schema does not declare, at any depth."""
    known = type(message)()
    known.CopyFrom(message)
    known.DiscardUnknownFields()
    return known.SerializeToString(deterministic=True) != message.SerializeToString(deterministic=True)


def main(image_path: str, address: str, pki_dir: str, run_id: str) -> int:
    request_class, response_class = release_classes(image_path)
    with open(f"{pki_dir}/ca.crt", "rb") as ca, open(f"{pki_dir}/demo-app.key", "rb") as key, open(
        f"{pki_dir}/demo-app.crt", "rb"
    ) as cert:
        credentials = grpc.ssl_channel_credentials(ca.read(), key.read(), cert.read())
    channel = grpc.secure_channel(address, credentials, options=(("grpc.ssl_target_name_override", "router"),))
    submit = channel.unary_unary(
        "/selene.os.v1.TurnService/SubmitTurn",
        request_serializer=lambda m: m.SerializeToString(),
        response_deserializer=response_class.FromString,
    )
    previous = None
    for i, turn in enumerate(UTTERANCES, start=1):
        request = request_class()
        envelope = request.envelope
        envelope.contract_version.major = 1
        envelope.contract_version.minor = 0
        envelope.tenant_id = "demo"
        envelope.user_id = "old-client"
        envelope.correlation_id = f"old-{run_id}-{i}"
        envelope.turn_id = f"turn-old-{run_id}-{i}"
        envelope.idempotency_key = f"old-{run_id}-{i}"
        if turn == "confirm" and previous is not None and previous.WhichOneof("outcome") == "confirm":
            request.confirmation.simulation_id = previous.confirm.simulation_id
            request.confirmation.accept = True
        else:
            request.text = turn
        try:
            response, call = submit.with_call(request, timeout=10)
        except grpc.RpcError as err:
            print(json.dumps({"turn": i, "error": err.code().name, "details": err.details()}), flush=True)
            return 1
        headers = dict(call.initial_metadata() or ())
        outcome = response.WhichOneof("outcome")
        print(
            json.dumps(
                {
                    "turn": i,
                    "outcome": outcome,
                    "unknown_fields": has_unknown_fields(response),
                    "deprecation": headers.get("selene-deprecation", ""),
                    "text": getattr(response, outcome).text if outcome == "answer" else "",
                }
            ),
            flush=True,
        )
        previous = response
    channel.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:5]))
