/** The router's configuration: the only reader of its environment; validated and frozen. */
import { LOCAL_CONNECT_PORT, LOCAL_PORTS } from "../runtime/local-ports.js";
import { engineAddressIn } from "../runtime/policy/engine-catalog.js";
import { policyPath } from "../runtime/policy/policy-file.js";
import {
  addressVariable,
  ConfigError,
  type Env,
  readAddress,
  readPositiveMs,
  readServiceConfig,
  type ServiceConfig,
} from "../runtime/service-config.js";
import { spiffeIdOf } from "../runtime/workload-identities.js";
import { CRASH_POINTS, type CrashPoint } from "./crash-points.js";
import { EXECUTOR_NAME_MAX } from "./lease-holder.js";

/** The router's settings. */
export interface RouterConfig extends ServiceConfig {
  /** host:port of the Connect (JSON over HTTPS) port. */
  readonly connectAddress: string;
  /** SELENE_ENGINE_CATALOG: the engine catalog file (default policy/engines.json), watched and reloaded. */
  readonly catalogPath: string;
  /** An engine's address: SELENE_<NAME>_ADDR, or the catalog's (for the engines of every catalog version). */
  readonly engineAddress: (engine: string, catalogAddress: string) => string;
  /** SELENE_CATALOG_DRAIN_MS: how long the channel of an engine a reloaded catalog dropped must be idle before it closes, ms (default 30 s). */
  readonly catalogDrainMs: number;
  /** Client SPIFFE id -> the tenant it acts for. */
  readonly clientTenants: ReadonlyMap<string, string>;
  /** Postgres connection string. */
  readonly databaseUrl: string;
  /** Turn budget when the caller sets no deadline, ms. */
  readonly defaultTurnDeadlineMs: number;
  /** How long a simulation stays confirmable, ms. */
  readonly simulationTtlMs: number;
  /** host:port of the outbox service. */
  readonly outboxAddress: string;
  /**
   * SELENE_AUDIT: "on" (the default) or "off". Off exists to measure what auditing costs: read-only
   * turns then leave no record, and every effectful step fails closed with AUDIT_UNAVAILABLE.
   */
  readonly auditEnabled: boolean;
  /** How long turn idempotency records are kept, ms (default 24 h). */
  readonly idempotencyRetentionMs: number;
  /** How long the executor holds a leased effect, ms. */
  readonly executorLeaseMs: number;
  /** How long a turn's idempotency claim outlives its deadline, ms. */
  readonly claimMarginMs: number;
  /**
   * SELENE_EXECUTOR_ID: this router replica's executor name (default router-<host>-<pid>); its leases'
   * owner is the name and an instance of the process's own (lease-holder.ts).
   */
  readonly executorId: string;
  /** SELENE_RESILIENCE_POLICY: the resilience policy file (default policy/resilience.json). */
  readonly resiliencePolicyPath: string;
  /** Crash-test fault injection (SELENE_CRASH_AT); never set in production. */
  readonly crashAt: CrashPoint | undefined;
}

function readClientTenants(env: Env): ReadonlyMap<string, string> {
  // SELENE_CLIENT_TENANTS="spiffe://…/demo-app=demo,spiffe://…/other=acme"
  const raw = env.SELENE_CLIENT_TENANTS ?? `${spiffeIdOf("demo-app")}=demo`;
  const map = new Map<string, string>();
  for (const entry of raw.split(",").filter((e) => e.trim() !== "")) {
    const at = entry.lastIndexOf("=");
    const id = entry.slice(0, at).trim();
    const tenant = entry.slice(at + 1).trim();
    if (at < 0 || !id.startsWith("spiffe://") || !/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(tenant)) {
      throw new ConfigError(`SELENE_CLIENT_TENANTS entry "${entry}" must be spiffe://…=tenant`);
    }
    map.set(id, tenant);
  }
  return map;
}

function readAuditSwitch(env: Env): boolean {
  const value = env.SELENE_AUDIT ?? "on";
  if (value !== "on" && value !== "off") throw new ConfigError(`SELENE_AUDIT must be "on" or "off", got "${value}"`);
  return value === "on";
}

function readExecutorName(env: Env): string {
  const name = env.SELENE_EXECUTOR_ID ?? `router-${env.HOSTNAME ?? "local"}-${process.pid}`;
  if (name === "" || name.length > EXECUTOR_NAME_MAX) {
    throw new ConfigError(`SELENE_EXECUTOR_ID must be 1-${EXECUTOR_NAME_MAX} characters, got ${name.length}`);
  }
  return name;
}

function readCrashPoint(env: Env): CrashPoint | undefined {
  const value = env.SELENE_CRASH_AT;
  if (value === undefined || value === "") return undefined;
  if (!(CRASH_POINTS as readonly string[]).includes(value)) {
    throw new ConfigError(`SELENE_CRASH_AT must be one of ${CRASH_POINTS.join(", ")}`);
  }
  return value as CrashPoint;
}

/** Reads the router's settings from `env`. */
export function readRouterConfig(env: Env): RouterConfig {
  const base = readServiceConfig(env, "router");
  const databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) throw new ConfigError("DATABASE_URL must be set for the router (npm start sets it)");
  return Object.freeze({
    ...base,
    connectAddress: readAddress(env, "SELENE_ROUTER_CONNECT_ADDR", `127.0.0.1:${LOCAL_CONNECT_PORT}`),
    catalogPath: env.SELENE_ENGINE_CATALOG || policyPath("engines"),
    engineAddress: engineAddressIn(env),
    catalogDrainMs: readPositiveMs(env, "SELENE_CATALOG_DRAIN_MS", 30_000),
    clientTenants: readClientTenants(env),
    databaseUrl,
    defaultTurnDeadlineMs: readPositiveMs(env, "SELENE_TURN_DEADLINE_MS", 5000),
    simulationTtlMs: readPositiveMs(env, "SELENE_SIMULATION_TTL_MS", 10 * 60_000),
    outboxAddress: readAddress(env, addressVariable("outbox"), `127.0.0.1:${LOCAL_PORTS.outbox.grpc}`),
    auditEnabled: readAuditSwitch(env),
    idempotencyRetentionMs: readPositiveMs(env, "SELENE_IDEMPOTENCY_RETENTION_MS", 24 * 3600_000),
    executorLeaseMs: readPositiveMs(env, "SELENE_EXECUTOR_LEASE_MS", 30_000),
    claimMarginMs: readPositiveMs(env, "SELENE_CLAIM_MARGIN_MS", 5000),
    executorId: readExecutorName(env),
    resiliencePolicyPath: env.SELENE_RESILIENCE_POLICY || policyPath("resilience"),
    crashAt: readCrashPoint(env),
  });
}
