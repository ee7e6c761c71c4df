/**
 * What the router tells of its engine catalog, as a log line, a counter and an audit record each:
 * a capability withdrawn because its engine's Describe disagrees with the catalog (or restored
 * when it agrees again), a catalog version applied, a catalog version refused. Records go to the
 * `_system` chain under the correlation id `catalog-<engine>` (a capability) or `catalog` (a
 * version): a withdrawal is a DENY with CAPABILITY_UNKNOWN (what a turn asking for it is told) at
 * the gate of its kind, a restoration a PASS there; an applied version is an OPERATOR PASS, a
 * refused one an OPERATOR DENY with FIELD_INVALID and the place of the fault. Records are
 * appended off the request path; one that cannot be appended is logged and counted as unrecorded.
 */
import { randomBytes } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { Counter } from "prom-client";
import { type AuditEntry, AuditEntrySchema, Decision, Gate } from "../../gen/es/selene/audit/v1/audit_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { countUnrecorded } from "../runtime/audit-degraded.js";
import type { Logger } from "../runtime/logger.js";
import { metricsRegistry } from "../runtime/metrics-registry.js";
import { kindName } from "../runtime/policy/engine-catalog.js";
import { SYSTEM_CHAIN } from "../runtime/refusal-audit.js";
import type { CapabilityChange } from "./engine-registry.js";
import { type AppendEntries, GATE_OF_KIND } from "./resilience/breaker-audit.js";

/** A catalog version the router switched to. */
export interface AppliedCatalog {
  /** Digest of the catalog and of the resilience policy judged with it. */
  readonly catalog: string;
  readonly resilience: string;
  /** The previous version's catalog digest. */
  readonly previous: string;
  readonly added: readonly string[];
  readonly removed: readonly string[];
}

/** A catalog version the router refused, and the fault that refused it. */
export interface RefusedCatalog {
  readonly file: string;
  /** Where in the file (a JSON path), "" for the whole file. */
  readonly at: string;
  /** The line of the file it is on, when known. */
  readonly line: number | undefined;
  readonly error: string;
}

/** Where the router tells its catalog's changes. */
export interface CatalogEvents {
  capability(change: CapabilityChange, catalog: string): void;
  applied(version: AppliedCatalog): void;
  refused(version: RefusedCatalog): void;
}

let withdrawals: Counter<"engine" | "capability" | "reason"> | undefined;
let restorations: Counter<"engine" | "capability"> | undefined;
let reloads: Counter<"result"> | undefined;

function counters() {
  const registers = [metricsRegistry()];
  withdrawals ??= new Counter({
    name: "selene_capabilities_withdrawn_total",
    help: "Catalog capabilities withdrawn because the engine's Describe disagreed with the catalog",
    labelNames: ["engine", "capability", "reason"],
    registers,
  });
  restorations ??= new Counter({
    name: "selene_capabilities_restored_total",
    help: "Withdrawn catalog capabilities routed again because the engine's Describe agreed with the catalog again",
    labelNames: ["engine", "capability"],
    registers,
  });
  reloads ??= new Counter({
    name: "selene_catalog_reloads_total",
    help: "Engine catalog versions the router read after start, by result (applied, refused)",
    labelNames: ["result"],
    registers,
  });
  return { withdrawals, restorations, reloads };
}

/** The audit entry of one catalog event. */
export function catalogEntry(
  correlationId: string,
  event: { gate: Gate; decision: Decision; reason: ReasonCode; attributes: Record<string, string> },
  actor: string,
  eventId: string,
  at: number,
): AuditEntry {
  return create(AuditEntrySchema, {
    tenantId: SYSTEM_CHAIN,
    correlationId,
    turnId: "",
    event: { ...event, eventId, actor, occurredAt: timestampFromMs(at) },
  });
}

/** Creates the catalog's events; `append` undefined: records are not kept (SELENE_AUDIT=off). */
export function createCatalogEvents(append: AppendEntries | undefined, logger: Logger, actor: string): CatalogEvents {
  const prefix = `${actor.split("/").pop()}/catalog/${randomBytes(6).toString("hex")}`;
  let sequence = 0;
  const record = (correlationId: string, event: Parameters<typeof catalogEntry>[1]) => {
    if (append === undefined) return;
    sequence += 1;
    const entry = catalogEntry(correlationId, event, actor, `${prefix}/${sequence}`, Date.now());
    append([entry]).catch((err: unknown) => {
      countUnrecorded("catalog");
      logger.warn({ err, correlation_id: correlationId }, "audit degraded: catalog change not recorded");
    });
  };
  const clip = (text: string) => text.slice(0, 1024);

  return {
    capability(change, catalog) {
      const { withdrawals, restorations } = counters();
      const attributes: Record<string, string> = {
        engine: change.engine,
        capability: change.capability,
        kind: kindName(change.kind),
        catalog,
      };
      if (change.withdrawn !== undefined) {
        withdrawals.inc({ engine: change.engine, capability: change.capability, reason: change.withdrawn });
        attributes.withdrawn = change.withdrawn;
      } else {
        restorations.inc({ engine: change.engine, capability: change.capability });
        logger.info({ engine: change.engine, capability: change.capability }, "capability restored");
      }
      record(`catalog-${change.engine}`.slice(0, 64), {
        gate: GATE_OF_KIND[change.kind],
        decision: change.withdrawn === undefined ? Decision.PASS : Decision.DENY,
        reason: change.withdrawn === undefined ? ReasonCode.UNSPECIFIED : ReasonCode.CAPABILITY_UNKNOWN,
        attributes,
      });
    },
    applied(version) {
      counters().reloads.inc({ result: "applied" });
      logger.info(
        { catalog: version.catalog, previous: version.previous, added: version.added, removed: version.removed },
        "engine catalog applied",
      );
      record("catalog", {
        gate: Gate.OPERATOR,
        decision: Decision.PASS,
        reason: ReasonCode.UNSPECIFIED,
        attributes: {
          change: "catalog_applied",
          catalog: version.catalog,
          resilience: version.resilience,
          previous: version.previous,
          added: clip(version.added.join(",")),
          removed: clip(version.removed.join(",")),
        },
      });
    },
    refused(version) {
      counters().reloads.inc({ result: "refused" });
      logger.error(
        { file: version.file, line: version.line, at: version.at, error: version.error },
        "engine catalog refused; the previous one stays",
      );
      record("catalog", {
        gate: Gate.OPERATOR,
        decision: Decision.DENY,
        reason: ReasonCode.FIELD_INVALID,
        attributes: {
          change: "catalog_refused",
          file: clip(version.file),
          line: String(version.line ?? ""),
          at: clip(version.at),
          error: clip(version.error),
        },
      });
    },
  };
}
