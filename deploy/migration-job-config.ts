/**
 * The settings of the migrations Job and of the wait-for-migrations init container (both in the
 * migrations image): the only reader of their environment, validated and frozen.
 *
 * DATABASE_URL                  the login that connects (Job: the migrating login; waiter: the service's)
 * SELENE_<SERVICE>_DATABASE_URL the Job only: each service's URL, from its Secret; the Job sets the
 *                               password it holds on the login role it names (selene_<service>)
 * SELENE_MIGRATED_SCHEMA        the waiter only: the schema whose migrations it waits for
 * SELENE_DATABASE_WAIT_SECONDS  how long to wait for the database, or for the migrations (default 300)
 * LOG_LEVEL                     default info
 */
import { ConfigError, type Env } from "../services/runtime/service-config.js";
import { DATABASE_ROLES } from "./mesh-processes.js";

/** The Job's settings. */
export interface MigrationJobConfig {
  readonly databaseUrl: string;
  /** Login role -> the password its Secret holds. */
  readonly rolePasswords: Readonly<Record<string, string>>;
  readonly waitSeconds: number;
  readonly logLevel: string;
}

/** The waiter's settings. */
export interface MigrationWaitConfig {
  readonly databaseUrl: string;
  readonly schema: string;
  readonly waitSeconds: number;
  readonly logLevel: string;
}

/** The variable holding service `name`'s database URL in the Job, such as SELENE_ROUTER_DATABASE_URL. */
export function serviceUrlVariable(name: string): string {
  return `SELENE_${name.toUpperCase()}_DATABASE_URL`;
}

function required(env: Env, variable: string): string {
  const value = env[variable];
  if (value === undefined || value === "") throw new ConfigError(`${variable} must be set`);
  return value;
}

function common(env: Env) {
  const waitSeconds = Number(env.SELENE_DATABASE_WAIT_SECONDS ?? 300);
  if (!Number.isInteger(waitSeconds) || waitSeconds <= 0) {
    throw new ConfigError("SELENE_DATABASE_WAIT_SECONDS must be a positive integer");
  }
  return { databaseUrl: required(env, "DATABASE_URL"), waitSeconds, logLevel: env.LOG_LEVEL ?? "info" };
}

/**
 * Reads the Job's settings. Every schema owner's URL must be given and log in as that service's own
 * role: a Secret naming another role would hand a service someone else's rights.
 */
export function readMigrationJobConfig(env: Env): MigrationJobConfig {
  const rolePasswords: Record<string, string> = {};
  for (const [name, role] of Object.entries(DATABASE_ROLES)) {
    const variable = serviceUrlVariable(name);
    let url: URL;
    try {
      url = new URL(required(env, variable));
    } catch (err) {
      if (err instanceof ConfigError) throw err;
      throw new ConfigError(`${variable} is not a URL`);
    }
    const user = decodeURIComponent(url.username);
    if (user !== role) throw new ConfigError(`${variable} must log in as ${role}, not "${user}"`);
    if (url.password === "") throw new ConfigError(`${variable} must hold a password`);
    rolePasswords[role] = decodeURIComponent(url.password);
  }
  return Object.freeze({ ...common(env), rolePasswords: Object.freeze(rolePasswords) });
}

/** Reads the waiter's settings. */
export function readMigrationWaitConfig(env: Env): MigrationWaitConfig {
  const schema = required(env, "SELENE_MIGRATED_SCHEMA");
  if (!/^[a-z][a-z0-9_]{0,30}$/.test(schema)) throw new ConfigError("SELENE_MIGRATED_SCHEMA must be a schema name");
  return Object.freeze({ ...common(env), schema });
}
