/**
 * The load flags both command lines take, named as ghz's: -c, --connections, -n, -z, -r, -t,
 * --skipFirst, --name, --tags, --cacert/--cert/--key/--cname and a host. A bad value is a
 * UsageError naming the flag.
 */
import { type ParseArgsConfig, parseArgs } from "node:util";
import { parseDurationMs } from "./duration-text.js";
import type { LoadOptions } from "./load-runner.js";
import { UsageError } from "./usage-error.js";

/** The flag table of parseArgs for the load flags. */
export const LOAD_FLAG_SPEC = {
  concurrency: { type: "string", short: "c" },
  connections: { type: "string" },
  total: { type: "string", short: "n" },
  duration: { type: "string", short: "z" },
  rps: { type: "string", short: "r" },
  timeout: { type: "string", short: "t" },
  retries: { type: "string" },
  skipFirst: { type: "string" },
  name: { type: "string" },
  tags: { type: "string" },
} as const satisfies ParseArgsConfig["options"];

/** The parsed values of `LOAD_FLAG_SPEC`. */
export type LoadFlagValues = { [K in keyof typeof LOAD_FLAG_SPEC]?: string | undefined };

/** An integer flag within bounds, or its default. */
export function intFlag(value: string | undefined, flag: string, min: number, max: number, fallback: number): number;
export function intFlag(value: string | undefined, flag: string, min: number, max: number): number | undefined;
export function intFlag(value: string | undefined, flag: string, min: number, max: number, fallback?: number) {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new UsageError(flag, `must be an integer from ${min} to ${max}, got "${value}"`);
  return n;
}

/** The load options and naming from the flags; `defaults` fill what was not given. */
export function loadOptionsFrom(
  values: LoadFlagValues,
  defaults: { concurrency: number; duration: string; timeout: string; retries: number; rps?: number },
): LoadOptions & { connections: number; skipFirst: number } {
  const total = intFlag(values.total, "-n/--total", 1, 100_000_000);
  const durationText = values.duration ?? (total === undefined ? defaults.duration : undefined);
  // As in ghz, -r 0 means no rate limit.
  const rpsValue = Number(values.rps ?? defaults.rps ?? 0);
  if (!(Number.isFinite(rpsValue) && rpsValue >= 0)) {
    throw new UsageError("-r/--rps", `must be a number >= 0 (0: no limit), got "${values.rps}"`);
  }
  const rps = rpsValue === 0 ? undefined : rpsValue;
  return {
    concurrency: intFlag(values.concurrency, "-c/--concurrency", 1, 10_000, defaults.concurrency),
    connections: intFlag(values.connections, "--connections", 1, 1000, 1),
    total,
    durationMs: durationText === undefined ? undefined : parseDurationMs(durationText, "-z/--duration"),
    rps,
    timeoutMs: parseDurationMs(values.timeout ?? defaults.timeout, "-t/--timeout"),
    retries: intFlag(values.retries, "--retries", 0, 100, defaults.retries),
    skipFirst: intFlag(values.skipFirst, "--skipFirst", 0, 100_000_000, 0),
  };
}

/** --tags as ghz takes it: a JSON object of strings. */
export function tagsFlag(value: string | undefined): Record<string, string> {
  if (value === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    throw new UsageError("--tags", `must be a JSON object such as '{"env":"staging"}', got ${value}`);
  }
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw new UsageError("--tags", "must be a JSON object of strings");
  }
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v !== "string") throw new UsageError("--tags", `value of "${k}" must be a string`);
  }
  return parsed as Record<string, string>;
}

/** Parses argv with `spec`, turning parseArgs's own errors into a UsageError. */
export function parseFlags<T extends NonNullable<ParseArgsConfig["options"]>>(argv: readonly string[], spec: T) {
  try {
    return parseArgs({ args: [...argv], options: spec, allowPositionals: true, strict: true });
  } catch (err) {
    const message = (err as Error).message.split("\n")[0] ?? String(err);
    const flag = /'(-[^' ,]+)/.exec(message)?.[1] ?? "arguments";
    throw new UsageError(flag, message);
  }
}
