/**
 * The reminders engine's EngineService handlers: an effectful engine. Simulate
 * normalises the effect and returns its preview and digest without touching the
 * database; Commit performs it once per (tenant, idempotency key) and returns
 * the first result on a retry.
 */
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { CapabilityKind, type CommitRequest } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { describeEngine } from "../../runtime/engine-description.js";
import { notServed } from "../../runtime/engine-rejection.js";
import { SeleneError } from "../../runtime/selene-error.js";
import type { EngineHandlers } from "../../runtime/serve-engine.js";
import {
  effectDigest,
  isReminderCapability,
  normaliseEffect,
  previewOf,
  REMINDER_CAPABILITIES,
  REMINDER_FIELDS,
  ReminderError,
  type ReminderErrorCode,
} from "./reminder-effects.js";
import type { ReminderStore, CommitRequest as StoreCommitRequest } from "./reminder-store.js";

const REASONS: Record<ReminderErrorCode, ReasonCode> = {
  UNKNOWN_CAPABILITY: ReasonCode.ENGINE_REJECTED,
  MISSING_FIELD: ReasonCode.FIELD_INVALID,
  UNKNOWN_FIELD: ReasonCode.FIELD_INVALID,
  INVALID_FIELD: ReasonCode.FIELD_INVALID,
  EFFECT_DIGEST_MISMATCH: ReasonCode.SIMULATION_DIGEST_MISMATCH,
  IDEMPOTENCY_KEY_REUSED: ReasonCode.IDEMPOTENCY_KEY_REUSED,
  REMINDER_NOT_FOUND: ReasonCode.ENGINE_REJECTED,
  REMINDER_ALREADY_CANCELLED: ReasonCode.ENGINE_REJECTED,
};

// Fields of the request rather than of the effect, at their place in the CommitRequest.
const REQUEST_FIELDS: Readonly<Record<string, string>> = {
  tenant_id: "envelope.tenant_id",
  user_id: "envelope.user_id",
  idempotency_key: "envelope.idempotency_key",
  effect_digest: "effect_digest",
};

/** Maps a ReminderError to the catalog; other errors pass through. */
function asSeleneError(e: unknown): unknown {
  if (!(e instanceof ReminderError)) return e;
  return new SeleneError(REASONS[e.code], e.message, {
    fieldPath: e.field === "" ? "" : (REQUEST_FIELDS[e.field] ?? `fields["${e.field}"]`),
    metadata: { engine_error: e.code },
  });
}

/** The store's commit input for an engine CommitRequest (tenant, user and key from its envelope). */
export function commitInputOf(request: CommitRequest): StoreCommitRequest {
  const envelope = request.envelope!;
  return {
    tenantId: envelope.tenantId,
    userId: envelope.userId,
    idempotencyKey: envelope.idempotencyKey,
    capability: request.capability,
    fields: request.fields,
    effectDigest: request.effectDigest,
  };
}

/** Creates the reminders engine's handlers over its store. */
export function createRemindersEngine(store: ReminderStore): EngineHandlers {
  return {
    async describe() {
      return describeEngine(
        "reminders",
        REMINDER_CAPABILITIES.map((name) => ({
          name,
          kind: CapabilityKind.EFFECT,
          requiredFields: [...REMINDER_FIELDS[name]],
          sideEffects: [
            { name: name === "reminders.create" ? "reminder.created" : "reminder.cancelled", reversible: true },
          ],
        })),
      );
    },
    async invoke(request) {
      throw notServed("reminders", `${request.capability} as a read (use Simulate and Commit)`);
    },
    async simulate(request) {
      try {
        if (!isReminderCapability(request.capability)) throw notServed("reminders", request.capability);
        const fields = normaliseEffect(request.capability, request.fields);
        return {
          preview: { capability: request.capability, summary: previewOf(request.capability, fields), fields },
          effectDigest: effectDigest(request.capability, fields),
        };
      } catch (e) {
        throw asSeleneError(e);
      }
    },
    async commit(request) {
      try {
        const result = await store.commit(commitInputOf(request));
        return {
          effectId: result.effectId,
          deduplicated: result.deduplicated,
          committedAt: timestampFromDate(result.committedAt),
          summary: result.summary,
        };
      } catch (e) {
        throw asSeleneError(e);
      }
    },
  };
}
