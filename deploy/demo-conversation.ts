/**
 * The demo conversation `npm start` runs against the live mesh, as the demo app
 * (its client certificate binds it to tenant "demo"): an answer with
 * provenance, a clarify, a simulate-then-CONFIRM, the confirmation that ends
 * in EXECUTED, and a calculation from the Python engine. Returns the printable
 * transcript and the outcomes.
 */
import type { MessageShape } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { ReasonCode } from "../gen/es/selene/kernel/v1/reason_pb.js";
import { type SubmitTurnResponseSchema, TurnService } from "../gen/es/selene/os/v1/turn_pb.js";
import { createBoundaryValidator } from "../services/runtime/boundary-validator.js";
import { CURRENT_CONTRACT_VERSION } from "../services/runtime/contract-version.js";
import { clientCredentials } from "../services/runtime/tls-credentials.js";
import { createUnaryClient } from "../services/runtime/unary-client.js";
import { spiffeIdOf } from "../services/runtime/workload-identities.js";

type TurnResponse = MessageShape<typeof SubmitTurnResponseSchema>;

/** The demo's utterances, in order. */
export const DEMO_UTTERANCES = [
  "What is the capital of France?",
  "Remind me to call mom",
  "Remind me to call mom tomorrow at 5pm",
  "What is (3 + 4) * 2?",
] as const;

/** Renders one outcome as text lines. */
export function describeOutcome(response: TurnResponse): string[] {
  const o = response.outcome;
  switch (o.case) {
    case "answer": {
      const p = o.value.provenance;
      const sources = p?.sources.map((s) => `${s.id} (trust ${s.trust})`).join(", ");
      return [
        `ANSWER   ${o.value.text}`,
        `         provenance: ${sources}; digest ${p?.contentDigest.slice(0, 23)}…; conflicts: ${p?.conflicts.length ?? 0}`,
      ];
    }
    case "clarify":
      return [
        `CLARIFY  ${o.value.question}  (missing: ${o.value.missingField}; e.g. ${o.value.exampleAnswers.join(" / ")})`,
      ];
    case "confirm":
      return [
        `CONFIRM  ${o.value.preview?.summary}`,
        `         simulation ${o.value.simulationId}, digest ${o.value.effectDigest.slice(0, 23)}…, expires ${
          o.value.expiresAt ? timestampDate(o.value.expiresAt).toISOString() : "?"
        }`,
      ];
    case "executed":
      return [`EXECUTED ${o.value.summary} (effect ${o.value.effectId})`];
    case "refused":
      return [`REFUSED  ${ReasonCode[o.value.reason]}: ${o.value.message}`];
    default:
      return ["(no outcome)"];
  }
}

/** Runs the demo against the router at `address`; returns the transcript lines and responses. */
export async function runDemoConversation(
  address: string,
  pkiDir: string,
  runId: string,
): Promise<{ lines: string[]; responses: TurnResponse[] }> {
  const client = createUnaryClient(TurnService, {
    address,
    serverName: "router",
    credentials: clientCredentials(pkiDir, "demo-app", spiffeIdOf("router")),
    validator: createBoundaryValidator(),
    faults: {
      unavailable: ReasonCode.DEPENDENCY_UNAVAILABLE,
      deadlineExceeded: ReasonCode.DEADLINE_EXCEEDED,
      invalidResponse: ReasonCode.INTERNAL,
    },
  });
  const lines: string[] = [];
  const responses: TurnResponse[] = [];
  try {
    const turns: Array<string | "confirm"> = [...DEMO_UTTERANCES.slice(0, 3), "confirm", ...DEMO_UTTERANCES.slice(3)];
    for (const [i, turn] of turns.entries()) {
      const id = `${runId}-${i + 1}`;
      const previous = responses.at(-1)?.outcome;
      const confirming = turn === "confirm" && previous?.case === "confirm";
      const input = confirming
        ? { case: "confirmation" as const, value: { simulationId: previous.value.simulationId, accept: true } }
        : { case: "text" as const, value: turn };
      const response = await client.call(
        "submitTurn",
        {
          envelope: {
            contractVersion: CURRENT_CONTRACT_VERSION,
            tenantId: "demo",
            userId: "demo-user",
            correlationId: `demo-${id}`,
            turnId: `turn-${id}`,
            idempotencyKey: `demo-${id}`,
          },
          input,
        },
        { deadline: Date.now() + 5000, correlationId: `demo-${id}` },
      );
      responses.push(response);
      lines.push(`you      ${confirming ? "yes, do it" : turn}`, ...describeOutcome(response), "");
    }
  } finally {
    client.close();
  }
  return { lines, responses };
}
