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
  /** host:port of the plaintext Prometheus metrics port. */
  readonly metricsAddress: string;
  readonly logLevel: string;
  /** Where finished spans go; undefined keeps tracing to propagation and log fields only. */
  readonly tracing: TracingConfig | undefined;
  /** host:port of the audit service (every server records the calls it refuses there). */
  readonly auditAddress: string;
  /** How certificates follow rotation on disk. */
  readonly tls: TlsRotationConfig;
}

/** How every TLS endpoint of a process follows re-issued certificates without a restart. */
export interface TlsRotationConfig {
  /** SELENE_CERT_REFRESH_MS: how often the PKI files are re-read (default 30 s). */
  readonly refreshIntervalMs: number;
  /**
   * SELENE_MAX_CONNECTION_AGE_MS: servers end a connection (gracefully: GOAWAY, in-flight calls
   * finish) once it is this old (default 30 min), so that both ends handshake again and present
   * the certificates in use, whoever rotated.
   */
  readonly maxConnectionAgeMs: number;
}

/** Span export over OTLP/HTTP (JSON). */
export interface TracingConfig {
  readonly exporter: "otlp";
  /** The OTLP traces URL, such as http://127.0.0.1:4318/v1/traces. */
  readonly url: string;
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
  return `SELENE_${name.toUpperCase().replaceAll("-", "_")}_ADDR`;
}

/**
 * SELENE_TRACING=otlp, or any OTEL_EXPORTER_OTLP_(TRACES_)ENDPOINT, turns span export on;
 * SELENE_TRACING=off keeps it off even when an endpoint is set. The traces endpoint is used
 * as given; the general endpoint gets /v1/traces appended, as the OTLP specification says.
 */
function readTracing(env: Env): TracingConfig | undefined {
  const mode = env.SELENE_TRACING;
  if (mode !== undefined && mode !== "" && mode !== "off" && mode !== "otlp") {
    throw new ConfigError(`SELENE_TRACING must be off or otlp, got "${mode}"`);
  }
  const tracesEndpoint = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT;
  const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT;
  if (mode === "off" || (mode !== "otlp" && !tracesEndpoint && !endpoint)) return undefined;
  const url = tracesEndpoint || `${(endpoint || "http://127.0.0.1:4318").replace(/\/+$/, "")}/v1/traces`;
  if (!/^https?:\/\/[^/]+/.test(url))
    throw new ConfigError(`the OTLP traces endpoint must be an http(s) URL, got "${url}"`);
  return Object.freeze({ exporter: "otlp", url });
}

/** Reads a positive integer number of milliseconds; `fallback` when the variable is unset or empty. */
export function readPositiveMs(env: Env, variable: string, fallback: number): number {
  const raw = env[variable];
  const value = raw === undefined || raw === "" ? fallback : Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new ConfigError(`${variable} must be a positive integer (ms)`);
  return value;
}

/** The environment variable holding a process's metrics address, such as SELENE_NLP_METRICS_ADDR. */
export function metricsAddressVariable(name: string): string {
  return `SELENE_${name.toUpperCase()}_METRICS_ADDR`;
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
    metricsAddress: readAddress(env, metricsAddressVariable(name), `127.0.0.1:${ports.metrics}`),
    logLevel,
    tracing: readTracing(env),
    auditAddress: readAddress(env, addressVariable("audit"), `127.0.0.1:${LOCAL_PORTS.audit.grpc}`),
    tls: Object.freeze({
      refreshIntervalMs: readPositiveMs(env, "SELENE_CERT_REFRESH_MS", 30_000),
      maxConnectionAgeMs: readPositiveMs(env, "SELENE_MAX_CONNECTION_AGE_MS", 30 * 60_000),
    }),
  });
}
