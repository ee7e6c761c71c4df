/**
 * The reminders engine's durable state. A commit claims its (tenant, idempotency key) and performs
 * the effect in one transaction, so a replay or a concurrent duplicate returns the first result
 * instead of acting twice. Every query is scoped by tenant.
 */

import { createHash } from "node:crypto";
import type { Pool, PoolClient } from "pg";
import { canonicalJson, sha256Digest } from "../../runtime/content-digest.js";
import { inTenantTransaction } from "../../runtime/in-tenant-transaction.js";
import { type EffectFields, effectDigest, normaliseEffect, ReminderError, summaryOf } from "./reminder-effects.js";

/** One effect to commit, as the router's executor sends it. */
export interface CommitRequest {
  /** The tenant, from the caller's verified identity. */
  readonly tenantId: string;
  /** The user the reminder belongs to. */
  readonly userId: string;
  /** The key that makes retries of this commit safe; unique per tenant. */
  readonly idempotencyKey: string;
  /** "reminders.create" or "reminders.cancel". */
  readonly capability: string;
  /** The effect's fields; normalised again here. */
  readonly fields: Readonly<Record<string, unknown>>;
  /** The digest the simulation computed over capability and normalised fields. */
  readonly effectDigest: string;
}

/** The outcome of a commit; a replay returns the first commit's outcome with `deduplicated` set. */
export interface CommitResult {
  /** The reminder created or cancelled. */
  readonly effectId: string;
  /** Whether this key had already been committed, so nothing was done this time. */
  readonly deduplicated: boolean;
  /** When the first commit of this key took effect. */
  readonly committedAt: Date;
  /** A one-sentence summary of what was done. */
  readonly summary: string;
}

/** A stored reminder. */
export interface Reminder {
  readonly id: string;
  readonly tenantId: string;
  readonly userId: string;
  readonly text: string;
  /** The normalised `when` expression, such as "tomorrow 17:00" or "+PT20M". */
  readonly due: string;
  readonly status: "active" | "cancelled";
  readonly createdAt: Date;
  readonly cancelledAt: Date | null;
}

/** The reminders engine's store over one Postgres pool. */
export interface ReminderStore {
  /** Performs the effect once per (tenant, idempotency key); throws a ReminderError when refused. */
  commit(request: CommitRequest): Promise<CommitResult>;
  /** The user's reminders in the tenant, oldest first. */
  listReminders(tenantId: string, userId: string): Promise<Reminder[]>;
}

interface ReminderRow {
  id: string;
  tenant_id: string;
  user_id: string;
  text: string;
  due: string;
  status: "active" | "cancelled";
  created_at: Date;
  cancelled_at: Date | null;
}

interface ProcessedRow {
  request_digest: string;
  effect_id: string;
  result: { summary: string };
  committed_at: Date | null;
}

/** The id of the reminder a create commit makes: "r-" and 12 hex digits of sha256(tenant, newline, key). */
export function reminderIdFor(tenantId: string, idempotencyKey: string): string {
  return `r-${createHash("sha256").update(`${tenantId}\n${idempotencyKey}`, "utf8").digest("hex").slice(0, 12)}`;
}

/** Creates the store; the pool must reach a database migrated with deploy/migrations/reminders. */
export function createReminderStore(pool: Pool): ReminderStore {
  return {
    async commit(request) {
      for (const [field, value] of [
        ["tenant_id", request.tenantId],
        ["user_id", request.userId],
        ["idempotency_key", request.idempotencyKey],
      ] as const) {
        if (value === "") throw new ReminderError("MISSING_FIELD", field, `a commit needs ${field}`);
      }
      const fields = normaliseEffect(request.capability, request.fields);
      if (effectDigest(request.capability, fields) !== request.effectDigest) {
        throw new ReminderError(
          "EFFECT_DIGEST_MISMATCH",
          "effect_digest",
          "the effect digest does not cover these fields",
        );
      }
      const requestDigest = sha256Digest(
        canonicalJson({ effect_digest: request.effectDigest, user_id: request.userId }),
      );
      const effectId =
        request.capability === "reminders.create"
          ? reminderIdFor(request.tenantId, request.idempotencyKey)
          : fields.reminder_id!;
      return inTenantTransaction(pool, request.tenantId, async (client) => {
        // Claim the key first: a concurrent holder of the same key makes this insert wait for its
        // transaction; once it commits we see its row (READ COMMITTED) and replay its result.
        const claimed = await client.query(
          `insert into reminders.processed_keys (tenant_id, idempotency_key, request_digest, effect_id, result)
           values ($1, $2, $3, $4, '{}'::jsonb)
           on conflict (tenant_id, idempotency_key) do nothing
           returning 1`,
          [request.tenantId, request.idempotencyKey, requestDigest, effectId],
        );
        if (claimed.rowCount === 0) return replay(client, request, requestDigest);
        const summary = await perform(client, request, fields, effectId);
        const stored = await client.query<{ committed_at: Date }>(
          `update reminders.processed_keys set result = $3, committed_at = now()
           where tenant_id = $1 and idempotency_key = $2
           returning committed_at`,
          [request.tenantId, request.idempotencyKey, { effect_id: effectId, summary }],
        );
        return { effectId, deduplicated: false, committedAt: stored.rows[0]!.committed_at, summary };
      });
    },

    async listReminders(tenantId, userId) {
      const rows = await inTenantTransaction(pool, tenantId, (client) =>
        client.query<ReminderRow>(
          `select id, tenant_id, user_id, text, due, status, created_at, cancelled_at
           from reminders.reminders where tenant_id = $1 and user_id = $2
           order by created_at, id`,
          [tenantId, userId],
        ),
      );
      return rows.rows.map((row) => ({
        id: row.id,
        tenantId: row.tenant_id,
        userId: row.user_id,
        text: row.text,
        due: row.due,
        status: row.status,
        createdAt: row.created_at,
        cancelledAt: row.cancelled_at,
      }));
    },
  };
}

/** Returns the stored first result of a key, unless the key now comes with a different request. */
async function replay(client: PoolClient, request: CommitRequest, requestDigest: string): Promise<CommitResult> {
  const rows = await client.query<ProcessedRow>(
    `select request_digest, effect_id, result, committed_at from reminders.processed_keys
     where tenant_id = $1 and idempotency_key = $2`,
    [request.tenantId, request.idempotencyKey],
  );
  const row = rows.rows[0];
  // Not reachable under READ COMMITTED (the conflicting row committed before our insert returned).
  if (row === undefined || row.committed_at === null) throw new Error("processed key vanished during a replay");
  if (row.request_digest !== requestDigest) {
    throw new ReminderError(
      "IDEMPOTENCY_KEY_REUSED",
      "idempotency_key",
      "this idempotency key was already used for a different request",
    );
  }
  return { effectId: row.effect_id, deduplicated: true, committedAt: row.committed_at, summary: row.result.summary };
}

/** Performs the effect inside the commit's transaction and returns its summary. */
async function perform(client: PoolClient, request: CommitRequest, fields: EffectFields, id: string): Promise<string> {
  if (request.capability === "reminders.create") {
    await client.query(
      `insert into reminders.reminders (id, tenant_id, user_id, text, due, status)
       values ($1, $2, $3, $4, $5, 'active')`,
      [id, request.tenantId, request.userId, fields.text, fields.when],
    );
    return summaryOf("reminders.create", id, fields.text!, fields.when!);
  }
  const cancelled = await client.query<{ text: string; due: string }>(
    `update reminders.reminders set status = 'cancelled', cancelled_at = now()
     where tenant_id = $1 and user_id = $2 and id = $3 and status = 'active'
     returning text, due`,
    [request.tenantId, request.userId, id],
  );
  const row = cancelled.rows[0];
  if (row !== undefined) return summaryOf("reminders.cancel", id, row.text, row.due);
  const existing = await client.query(
    "select 1 from reminders.reminders where tenant_id = $1 and user_id = $2 and id = $3",
    [request.tenantId, request.userId, id],
  );
  if (existing.rowCount === 0) throw new ReminderError("REMINDER_NOT_FOUND", "reminder_id", `no reminder ${id}`);
  throw new ReminderError("REMINDER_ALREADY_CANCELLED", "reminder_id", `reminder ${id} is already cancelled`);
}
