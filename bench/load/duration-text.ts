/** Go-style duration text ("500ms", "30s", "2m", "1m30s"), as ghz's flags take it, in milliseconds. */
import { UsageError } from "./usage-error.js";

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Parses `text` into milliseconds; a bare number is seconds. Throws a UsageError naming `field`. */
export function parseDurationMs(text: string, field: string): number {
  const trimmed = text.trim();
  if (/^\d+(\.\d+)?$/.test(trimmed)) return Number(trimmed) * 1000;
  const parts = [...trimmed.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g)];
  if (parts.length === 0 || parts.map((p) => p[0]).join("") !== trimmed) {
    throw new UsageError(field, `"${text}" is not a duration such as 500ms, 30s, 2m or 1m30s`);
  }
  return parts.reduce((sum, p) => sum + Number(p[1]) * UNIT_MS[p[2]!]!, 0);
}

/** A duration field of a YAML mapping: text such as "10s" (a bare number means seconds). */
export function durationValueMs(value: unknown, field: string): number {
  if (typeof value === "number" && value >= 0) return value * 1000;
  if (typeof value !== "string") throw new UsageError(field, "must be a duration such as 500ms, 10s or 2m");
  return parseDurationMs(value, field);
}
