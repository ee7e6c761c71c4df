/**
 * The counter of decisions that went unrecorded: a read-only turn answered
 * without its audit record, or refused calls dropped before the ledger took
 * them. Alert on any increase: the ledger is then not the whole story.
 */
import { Counter } from "prom-client";
import { metricsRegistry } from "./metrics-registry.js";

/** What went unrecorded. */
export type UnrecordedKind = "turn" | "refusal" | "breaker" | "catalog";

let counter: Counter<"kind"> | undefined;

/** Counts `n` unrecorded decisions of `kind` in selene_audit_degraded_total. */
export function countUnrecorded(kind: UnrecordedKind, n = 1): void {
  counter ??= new Counter({
    name: "selene_audit_degraded_total",
    help: "Decisions that went unrecorded: read-only turns answered without their audit record, refused calls dropped, breaker state changes and catalog changes not recorded",
    labelNames: ["kind"],
    registers: [metricsRegistry()],
  });
  counter.inc({ kind }, n);
}
