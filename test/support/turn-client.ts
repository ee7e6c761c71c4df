/** A TurnService client for tests, presenting a chosen certificate, and a turn builder. */
import { create, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import {
  SubmitTurnRequestSchema,
  type SubmitTurnResponseSchema,
  TurnService,
} from "../../gen/es/selene/os/v1/turn_pb.js";
import { createBoundaryValidator } from "../../services/runtime/boundary-validator.js";
import { CURRENT_CONTRACT_VERSION } from "../../services/runtime/contract-version.js";
import { clientCredentials } from "../../services/runtime/tls-credentials.js";
import { createUnaryClient, type UnaryClient } from "../../services/runtime/unary-client.js";
import { spiffeIdOf } from "../../services/runtime/workload-identities.js";

/** A turn's response. */
export type TurnResponse = MessageShape<typeof SubmitTurnResponseSchema>;

/** A client of the router presenting `certName`'s certificate. */
export function aTurnClient(
  address: string,
  pkiDir: string,
  certName = "demo-app",
): UnaryClient<(typeof TurnService)["method"]> {
  return createUnaryClient(TurnService, {
    address,
    serverName: "router",
    credentials: clientCredentials(pkiDir, certName, spiffeIdOf("router")),
    validator: createBoundaryValidator(),
    faults: {
      unavailable: ReasonCode.DEPENDENCY_UNAVAILABLE,
      deadlineExceeded: ReasonCode.DEADLINE_EXCEEDED,
      invalidResponse: ReasonCode.INTERNAL,
    },
  });
}

let counter = 0;

/** A text turn of the demo tenant with fresh ids (or the given key, tenant or user). */
export function aTextTurn(text: string, options: { key?: string; tenantId?: string; userId?: string } = {}) {
  counter++;
  const id = `${process.pid}-${counter}`;
  return {
    envelope: {
      contractVersion: CURRENT_CONTRACT_VERSION,
      tenantId: options.tenantId ?? "demo",
      userId: options.userId ?? "e2e-user",
      correlationId: `e2e-${id}`,
      turnId: `turn-${id}`,
      idempotencyKey: options.key ?? `e2e-${id}`,
    },
    input: { case: "text" as const, value: text },
  };
}

/** The bytes of a text turn, for raw calls. */
export function textTurnBytes(text: string): Buffer {
  return Buffer.from(toBinary(SubmitTurnRequestSchema, create(SubmitTurnRequestSchema, aTextTurn(text))));
}
