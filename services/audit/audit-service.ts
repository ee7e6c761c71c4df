/**
 * The AuditService handlers over the ledger. Writers (the router, the outbox,
 * governance) append, each only events it acted in: the event's actor must be
 * the caller; engines append only the calls they refused. Operators read, list
 * chains and verify them.
 */
import { toBinary } from "@bufbuild/protobuf";
import type { UntypedServiceImplementation } from "@grpc/grpc-js";
import type pg from "pg";
import {
  type AuditEntry,
  type AuditEvent,
  AuditEventSchema,
  AuditService,
  Decision,
  Gate,
} from "../../gen/es/selene/audit/v1/audit_pb.js";
import type { ContractVersion } from "../../gen/es/selene/kernel/v1/envelope_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { implementService } from "../runtime/boundary/grpc-adapter.js";
import { createBoundaryValidator } from "../runtime/boundary-validator.js";
import { sha256Digest } from "../runtime/content-digest.js";
import type { Logger } from "../runtime/logger.js";
import { SYSTEM_CHAIN } from "../runtime/refusal-audit.js";
import { SeleneError } from "../runtime/selene-error.js";
import { allowOnly, type CallContext, type ServiceHandlers } from "../runtime/unary-service.js";
import { spiffeIdOf } from "../runtime/workload-identities.js";
import { type AuditLedger, createAuditLedger, type LedgerEntry } from "./audit-ledger.js";
import { listChainsPage, listEventsPage } from "./ledger-pages.js";
import { requireServable } from "./record-size.js";

/** The handlers of AuditService. */
export type AuditHandlers = ServiceHandlers<(typeof AuditService)["method"]>;

/** Who may append to any chain. */
export const AUDIT_WRITERS = Object.freeze(["router", "outbox", "governance"].map((name) => spiffeIdOf(name)));
/** Who may append only the calls it refused, to the "_system" chain: the engines. */
export const REFUSAL_WRITERS = Object.freeze(["nlp", "tools", "reminders", "calc"].map((name) => spiffeIdOf(name)));
/** Who may read. */
export const AUDIT_READERS = Object.freeze([spiffeIdOf("operator")]);

function requireOneOf(context: CallContext, allowed: readonly string[]): void {
  if (allowed.includes(context.caller)) return;
  throw new SeleneError(ReasonCode.CALLER_NOT_ALLOWED, `caller ${context.caller} is not allowed to call this method`);
}

function versionOf(version: ContractVersion | undefined): string {
  return `${version?.major ?? 0}.${version?.minor ?? 0}`;
}

/** An engine appends only the calls it refused: identity or validation denials, in "_system". */
function onlyRefusals(entries: readonly AuditEntry[]): void {
  entries.forEach((entry, i) => {
    const gate = entry.event?.gate;
    const refusal =
      entry.tenantId === SYSTEM_CHAIN &&
      entry.event?.decision === Decision.DENY &&
      (gate === Gate.IDENTITY || gate === Gate.VALIDATE);
    if (!refusal) {
      throw new SeleneError(ReasonCode.CALLER_NOT_ALLOWED, "an engine may record only the calls it refused", {
        fieldPath: `entries[${i}]`,
      });
    }
  });
}

function ownEvent(event: AuditEvent, context: CallContext, index: number): AuditEvent {
  if (event.actor !== context.caller) {
    throw new SeleneError(ReasonCode.FIELD_INVALID, "an event's actor must be the caller that appends it", {
      fieldPath: index < 0 ? "event.actor" : `entries[${index}].event.actor`,
    });
  }
  return event;
}

/**
 * The event with its id: a writer that predates event ids (contract 1.0) sends none, and gets one
 * derived from the event and its chain, so the same append still stores the event once.
 */
function withEventId(event: AuditEvent, chain: Omit<LedgerEntry, "event" | "contractVersion">): AuditEvent {
  if (event.eventId !== "") return event;
  const bytes = toBinary(AuditEventSchema, event);
  const context = new TextEncoder().encode(`${chain.tenantId}\n${chain.correlationId}\n${chain.turnId}\n`);
  const digest = sha256Digest(new Uint8Array([...context, ...bytes])).slice("sha256:".length);
  return { ...event, eventId: `derived:${digest}` };
}

/** Creates the handlers over `ledger`. */
export function createAuditHandlers(ledger: AuditLedger): AuditHandlers {
  return {
    async append(request, context) {
      requireOneOf(context, AUDIT_WRITERS);
      const envelope = request.envelope!;
      const chain = { tenantId: envelope.tenantId, correlationId: envelope.correlationId, turnId: envelope.turnId };
      const event = withEventId(ownEvent(request.event!, context, -1), chain);
      const entry: LedgerEntry = { ...chain, event, contractVersion: versionOf(envelope.contractVersion) };
      requireServable(entry, "event", context.requestBytes);
      await ledger.append([entry]);
      return { record: await ledger.record(event.eventId) };
    },
    async appendEvents(request, context) {
      requireOneOf(context, [...AUDIT_WRITERS, ...REFUSAL_WRITERS]);
      if (REFUSAL_WRITERS.includes(context.caller)) onlyRefusals(request.entries);
      const contractVersion = versionOf(request.envelope?.contractVersion);
      const entries: LedgerEntry[] = request.entries.map((entry, i) => {
        const chain = { tenantId: entry.tenantId, correlationId: entry.correlationId, turnId: entry.turnId };
        const stored = { ...chain, event: withEventId(ownEvent(entry.event!, context, i), chain), contractVersion };
        requireServable(stored, `entries[${i}]`, context.requestBytes);
        return stored;
      });
      return { appended: await ledger.append(entries) };
    },
    async listEvents(request, context) {
      requireOneOf(context, AUDIT_READERS);
      return listEventsPage(ledger, request);
    },
    async listChains(request, context) {
      requireOneOf(context, AUDIT_READERS);
      return listChainsPage(ledger, request);
    },
    async verifyChain(request, context) {
      requireOneOf(context, AUDIT_READERS);
      const verdict = await ledger.verify(request.tenantId);
      if (!verdict.intact) {
        context.logger.error(
          {
            tenant_id: request.tenantId,
            first_bad_sequence: verdict.firstBadSequence.toString(),
            problem: verdict.problem,
          },
          "audit chain broken",
        );
      }
      return verdict;
    },
  };
}

/** AuditService over the ledger in `pool`, as startGrpcServer serves it (the process and tests). */
export function auditService(pool: pg.Pool, logger: Logger) {
  const implementation: UntypedServiceImplementation = implementService(
    AuditService,
    createAuditHandlers(createAuditLedger(pool)),
    {
      validator: createBoundaryValidator(),
      logger,
      authorize: allowOnly([...AUDIT_WRITERS, ...REFUSAL_WRITERS, ...AUDIT_READERS]),
      self: spiffeIdOf("audit"),
    },
  );
  return { service: AuditService, implementation };
}
