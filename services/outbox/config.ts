/** The outbox's configuration: the only reader of its environment; validated and frozen. */
import { ConfigError, type Env, readServiceConfig, type ServiceConfig } from "../runtime/service-config.js";
import { parseRetryPolicies, type RetryPolicies } from "./retry-policy.js";

/** The outbox's settings. */
export interface OutboxConfig extends ServiceConfig {
  /** Postgres connection string. */
  readonly databaseUrl: string;
  /** Retry bounds and backoff per effect type (SELENE_OUTBOX_RETRY). */
  readonly retryPolicies: RetryPolicies;
  /** How long done and discarded effects are kept, ms (default 24 h). */
  readonly retentionMs: number;
  /** How often the retention job runs, ms (default 1 min). */
  readonly purgeIntervalMs: number;
}

function readPositiveMs(env: Env, variable: string, fallback: number): number {
  const value = Number(env[variable] ?? fallback);
  if (!Number.isInteger(value) || value <= 0) throw new ConfigError(`${variable} must be a positive integer (ms)`);
  return value;
}

/** Reads the outbox's settings from `env`. */
export function readOutboxConfig(env: Env): OutboxConfig {
  const databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) throw new ConfigError("DATABASE_URL must be set for the outbox (npm start sets it)");
  return Object.freeze({
    ...readServiceConfig(env, "outbox"),
    databaseUrl,
    retryPolicies: parseRetryPolicies(env.SELENE_OUTBOX_RETRY),
    retentionMs: readPositiveMs(env, "SELENE_OUTBOX_RETENTION_MS", 24 * 3600_000),
    purgeIntervalMs: readPositiveMs(env, "SELENE_OUTBOX_PURGE_INTERVAL_MS", 60_000),
  });
}
