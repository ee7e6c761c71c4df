/**
 * Builders of router turns for unit tests: a call, a ledger that keeps what a
 * turn's trail appends, and a started turn (aTurn) over them. Override only
 * what a test is about.
 */
import { create } from "@bufbuild/protobuf";
import { Metadata } from "@grpc/grpc-js";
import { type AuditEntry, Decision, Gate } from "../../gen/es/selene/audit/v1/audit_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { ConfirmationSchema } from "../../gen/es/selene/os/v1/turn_pb.js";
import { startTurn, type Turn, type TurnStart } from "../../services/router/turn.js";
import { grpcCallMetadata } from "../../services/runtime/boundary/call-metadata.js";
import { createLogger } from "../../services/runtime/logger.js";
import { SeleneError } from "../../services/runtime/selene-error.js";
import type { CallContext } from "../../services/runtime/unary-service.js";
import { spiffeIdOf } from "../../services/runtime/workload-identities.js";
import { anEnvelope, aTurnRequest, type EnvelopeOverrides, FIXED_MS } from "./builders.js";

/** The client app of the builders' tenant ("acme"). */
export const ACME_APP = "spiffe://selene.local/ns/clients/sa/acme-app";

/** A turn's budget when the call sets no deadline, ms. */
export const DEFAULT_DEADLINE_MS = 5000;

/** What a turn's trail appended, and the sink it appends to. */
export interface RecordingLedger {
  readonly sink: TurnStart["audit"];
  readonly appended: AuditEntry[];
}

/** A ledger that keeps every append; `failing`: every append throws (the audit service is down). */
export function aRecordingLedger(options: { enabled?: boolean; failing?: boolean } = {}): RecordingLedger {
  const appended: AuditEntry[] = [];
  return {
    appended,
    sink: {
      enabled: options.enabled ?? true,
      actor: spiffeIdOf("router"),
      onDegraded: () => {},
      async append(entries) {
        if (options.failing) throw new SeleneError(ReasonCode.DEPENDENCY_UNAVAILABLE, "the audit service is down");
        appended.push(...entries);
      },
    },
  };
}

/** "GATE DECISION[ REASON]" of each entry, in order. */
export function decisionsOf(entries: readonly AuditEntry[]): string[] {
  return entries.map(({ event }) => {
    const reason = event!.reason === ReasonCode.UNSPECIFIED ? "" : ` ${ReasonCode[event!.reason]}`;
    return `${Gate[event!.gate]} ${Decision[event!.decision]}${reason}`;
  });
}

/** A call of the acme app with no deadline and a silent logger. */
export function aCallContext(overrides: Partial<CallContext> = {}): CallContext {
  return {
    caller: ACME_APP,
    correlationId: "corr-1",
    deadline: undefined,
    logger: createLogger("test", "silent"),
    metadata: grpcCallMetadata(new Metadata()),
    // The size only the audit service reads (its record-size bound); the router's handlers do not.
    requestBytes: 0,
    answeredAsBuilt: true,
    ...overrides,
  };
}

/** What a test may set on a turn. */
export interface TurnOverrides {
  /** A text turn (the default: a question). */
  readonly text?: string;
  /** A confirmation turn instead. */
  readonly confirmation?: { readonly simulationId: string; readonly accept?: boolean };
  readonly envelope?: EnvelopeOverrides;
  readonly call?: Partial<CallContext>;
  readonly ledger?: RecordingLedger;
  /** The clock (default: fixed at FIXED_MS). */
  readonly now?: () => number;
}

/** A started turn, its ledger, and the decisions its trail recorded. */
export interface TurnFixture {
  readonly turn: Turn;
  readonly ledger: RecordingLedger;
  /** Flushes the trail and returns "GATE DECISION[ REASON]" of everything appended. */
  decisions(): Promise<string[]>;
}

/** A turn of the acme tenant, started as the pipeline starts one. */
export function aTurn(overrides: TurnOverrides = {}): TurnFixture {
  const ledger = overrides.ledger ?? aRecordingLedger();
  const now = overrides.now ?? (() => FIXED_MS);
  const request = aTurnRequest({
    envelope: anEnvelope(overrides.envelope),
    input:
      overrides.confirmation === undefined
        ? { case: "text", value: overrides.text ?? "what is the capital of France?" }
        : {
            case: "confirmation",
            value: create(ConfirmationSchema, {
              simulationId: overrides.confirmation.simulationId,
              accept: overrides.confirmation.accept ?? true,
            }),
          },
  });
  const turn = startTurn(request, aCallContext(overrides.call), {
    defaultDeadlineMs: DEFAULT_DEADLINE_MS,
    audit: ledger.sink,
    now,
  });
  return {
    turn,
    ledger,
    async decisions() {
      await turn.trail.flush(false, now() + 1000);
      return decisionsOf(ledger.appended);
    },
  };
}
