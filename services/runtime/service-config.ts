/**
 * Reads the settings every service shares from an environment map. Each
 * service's config.ts is the only caller, passing process.env, so config.ts stays
 * the only reader of the environment; the result is validated and frozen.
 */
import { LOCAL_PORTS } from "./local-ports.js";

/** Settings every service has. */
export interface ServiceConfig {
  /** The workload name, which is also its certificate name. */
  readonly name: keyof typeof LOCAL_PORTS;
  readonly pkiDir: string;
  /** host:port of the mTLS gRPC port. */
  readonly address: string;
  /** host:port of the plaintext health port. */
  readonly healthAddress: string;
  readonly logLevel: string;
  /** host:port of the audit service (every server records the calls it refuses there). */
  readonly auditAddress: string;
}

/** An environment map: process.env or a test's own. */
export type Env = Readonly<Record<string, string | undefined>>;

const LEVELS = new Set(["fatal", "error", "warn", "info", "debug", "trace", "silent"]);

/** Thrown for a setting that cannot be used; the message names the variable. */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

/** Reads `SELENE_<NAME>_ADDR`-style settings: a host:port with a numeric port. */
export function readAddress(env: Env, variable: string, fallback: string): string {
  const value = env[variable] ?? fallback;
  const match = /^(.+):(\d{1,5})$/.exec(value);
  if (match === null || Number(match[2]) > 65535)
    throw new ConfigError(`${variable} must be host:port, got "${value}"`);
  return value;
}

/** The environment variable holding a process's gRPC address, such as SELENE_NLP_ADDR. */
export function addressVariable(name: string): string {
  return `SELENE_${name.toUpperCase()}_ADDR`;
}

/** Reads the shared settings of service `name`. */
export function readServiceConfig(env: Env, name: keyof typeof LOCAL_PORTS): ServiceConfig {
  const ports = LOCAL_PORTS[name];
  const logLevel = env.LOG_LEVEL ?? "info";
  if (!LEVELS.has(logLevel)) throw new ConfigError(`LOG_LEVEL must be one of ${[...LEVELS].join(", ")}`);
  return Object.freeze({
    name,
    pkiDir: env.SELENE_PKI_DIR ?? ".selene/pki",
    address: readAddress(env, addressVariable(name), `127.0.0.1:${ports.grpc}`),
    healthAddress: readAddress(env, `SELENE_${name.toUpperCase()}_HEALTH_ADDR`, `127.0.0.1:${ports.health}`),
    logLevel,
    auditAddress: readAddress(env, addressVariable("audit"), `127.0.0.1:${LOCAL_PORTS.audit.grpc}`),
  });
}
