/** Turn idempotency records in memory: claims, stored outcomes and releases, as the PostgreSQL store keeps them. */
import type { Claim, TurnRecords } from "../../services/router/turn-records.js";

interface Entry {
  digest: string;
  outcome?: { response: Uint8Array } | { error: Uint8Array };
}

/** An empty store. */
export function fakeTurnRecords(): TurnRecords {
  const entries = new Map<string, Entry>();
  return {
    async claim(tenantId, key, digest): Promise<Claim> {
      const entry = entries.get(`${tenantId}/${key}`);
      if (entry === undefined) {
        entries.set(`${tenantId}/${key}`, { digest });
        return { kind: "claimed" };
      }
      if (entry.digest !== digest) return { kind: "mismatch" };
      if (entry.outcome === undefined) return { kind: "in_flight", claimedUntil: new Date(0) };
      return "response" in entry.outcome
        ? { kind: "replay", response: entry.outcome.response, error: null }
        : { kind: "replay", response: null, error: entry.outcome.error };
    },
    async complete(tenantId, key, outcome) {
      entries.get(`${tenantId}/${key}`)!.outcome = outcome;
    },
    async release(tenantId, key) {
      // As the store: only a claim still in flight is released, never a stored outcome.
      if (entries.get(`${tenantId}/${key}`)?.outcome === undefined) entries.delete(`${tenantId}/${key}`);
    },
    async purgeExpired() {
      return 0;
    },
  };
}
