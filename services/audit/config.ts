/** The audit service's configuration: the only reader of its environment; validated and frozen. */
import { ConfigError, type Env, readServiceConfig, type ServiceConfig } from "../runtime/service-config.js";

/** The audit service's settings. */
export interface AuditConfig extends ServiceConfig {
  /** Postgres connection string. */
  readonly databaseUrl: string;
}

/** Reads the audit service's settings from `env`. */
export function readAuditConfig(env: Env): AuditConfig {
  const databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) throw new ConfigError("DATABASE_URL must be set for the audit service (npm start sets it)");
  return Object.freeze({ ...readServiceConfig(env, "audit"), databaseUrl });
}
