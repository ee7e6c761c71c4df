/** Who an executor process is to the outbox: the owner of its leases. */
import { randomBytes } from "node:crypto";

/**
 * The longest executor name: the executor identifies itself to the outbox (its leases' owner) as
 * "<name>~<12 hex digits>", a random instance of its own process, within the 128 characters
 * EnqueueLease.executor_id and LeaseRequest.executor_id allow.
 */
export const EXECUTOR_NAME_MAX = 128 - 13;

/**
 * The identity one executor process leases under: its name and a random instance, new at every
 * start. The outbox hands a stored effect's live lease back to an Enqueue from the same identity,
 * so the identity must be one process's alone: a name is configuration (two replicas may be given
 * the same one, a restarted process has its predecessor's), the instance is not.
 */
export function leaseHolderOf(name: string): string {
  return `${name}~${randomBytes(6).toString("hex")}`;
}
