/**
 * Turns' appends to the audit ledger, sent together: while MAX_IN_FLIGHT
 * AppendEvents calls are in flight, the turns that finish wait and go in the
 * next call (up to its 64 entries), so a busy router makes one call for several
 * turns and an idle one adds no wait. Two in flight, not one: a turn that
 * finishes while a call is out is sent at once instead of waiting a whole call
 * (the ledger groups concurrent appends into one commit on its side). Each turn still hears its own verdict: it stops
 * waiting at its own deadline, and when a shared call is refused for what it
 * carried (not for the ledger being down), each turn's entries are sent again
 * alone, so one bad entry cannot fail its neighbours.
 */
import { status } from "@grpc/grpc-js";
import type { AuditEntry } from "../../gen/es/selene/audit/v1/audit_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import type { AuditClient } from "../runtime/audit-client.js";
import { CURRENT_CONTRACT_VERSION } from "../runtime/contract-version.js";
import { SeleneError } from "../runtime/selene-error.js";

/** AppendEvents takes at most 64 entries. */
const MAX_ENTRIES = 64;
/** The correlation id of a call shared by several turns. */
const SHARED = "router-audit";
/** AppendEvents calls in flight at most. */
const MAX_IN_FLIGHT = 2;
/** Time the shared call gets beyond the latest deadline among its turns, ms. */
const CALL_SLACK_MS = 1000;

/** Appends a turn's entries; resolves once the ledger holds them. */
export type AuditAppend = (entries: readonly AuditEntry[], deadline: number) => Promise<void>;

interface Job {
  readonly entries: readonly AuditEntry[];
  readonly deadline: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
}

/**
 * One AppendEvents call. A call for one turn carries the turn's correlation id (and, made from the
 * turn's own context, its trace); a shared call carries "router-audit".
 */
function send(audit: AuditClient, group: readonly Job[], deadline: number): Promise<unknown> {
  const entries = group.flatMap((job) => job.entries);
  const correlationId = group.length === 1 ? (entries[0]?.correlationId ?? SHARED) : SHARED;
  return audit.call(
    "appendEvents",
    { envelope: { contractVersion: CURRENT_CONTRACT_VERSION, correlationId }, entries },
    { deadline, correlationId },
  );
}

/** Whether the ledger refused what a call carried (the ledger itself answered). */
function refusedContent(error: unknown): boolean {
  return (
    error instanceof SeleneError && error.reason !== ReasonCode.AUDIT_UNAVAILABLE && error.status !== status.UNAVAILABLE
  );
}

/** Creates the batching append over `audit`. */
export function createAuditBatcher(audit: AuditClient): AuditAppend {
  const queue: Job[] = [];
  let inFlight = 0;

  async function sendGroup(group: readonly Job[]): Promise<void> {
    const deadline = Math.max(...group.map((job) => job.deadline)) + CALL_SLACK_MS;
    try {
      await send(audit, group, deadline);
      for (const job of group) job.resolve();
    } catch (error) {
      if (group.length > 1 && refusedContent(error)) {
        for (const job of group) await sendGroup([job]);
        return;
      }
      for (const job of group) job.reject(error);
    }
  }

  /** Sends what is queued while a call may go out; each call's end sends what queued meanwhile. */
  function drain(): void {
    while (queue.length > 0 && inFlight < MAX_IN_FLIGHT) {
      const group: Job[] = [];
      let size = 0;
      while (queue.length > 0 && (group.length === 0 || size + queue[0]!.entries.length <= MAX_ENTRIES)) {
        const job = queue.shift()!;
        group.push(job);
        size += job.entries.length;
      }
      inFlight++;
      void sendGroup(group).finally(() => {
        inFlight--;
        drain();
      });
    }
  }

  return (entries, deadline) =>
    new Promise<void>((resolve, reject) => {
      // The turn stops waiting at its own deadline; its entries may still reach the ledger.
      const timer = setTimeout(
        () => reject(new SeleneError(ReasonCode.AUDIT_UNAVAILABLE, "the audit ledger did not answer in time")),
        Math.max(0, deadline - Date.now()),
      );
      queue.push({
        entries,
        deadline,
        resolve: () => {
          clearTimeout(timer);
          resolve();
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
      drain();
    });
}
