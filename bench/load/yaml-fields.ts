/**
 * Typed reads of fields from a parsed YAML document, each failing with a UsageError that names the
 * file and the field path: the corpus, the SLO file and the chaos profiles share them.
 */
import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { UsageError } from "./usage-error.js";

/** A YAML mapping being read, and where it sits (for messages). */
export interface Fields {
  readonly at: string;
  readonly value: Record<string, unknown>;
}

/** Reads and parses `path`; the root must be a mapping. */
export function readYamlFile(path: string): Fields {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (err) {
    throw new UsageError(path, `cannot read (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (err) {
    throw new UsageError(path, `not valid YAML (${(err as Error).message.split("\n")[0]})`);
  }
  return asFields(doc, path);
}

/** `value` as a mapping, or a UsageError naming `at`. */
export function asFields(value: unknown, at: string): Fields {
  if (typeof value !== "object" || value === null || Array.isArray(value))
    throw new UsageError(at, "must be a mapping");
  return { at, value: value as Record<string, unknown> };
}

/** Fails when the mapping has a key outside `known` (a typo would otherwise be ignored). */
export function onlyKeys(fields: Fields, known: readonly string[]): void {
  for (const key of Object.keys(fields.value)) {
    if (!known.includes(key)) throw new UsageError(`${fields.at}.${key}`, `unknown field (known: ${known.join(", ")})`);
  }
}

/** A required non-empty string. */
export function stringField(fields: Fields, key: string): string {
  const v = fields.value[key];
  if (typeof v !== "string" || v === "") throw new UsageError(`${fields.at}.${key}`, "must be a non-empty string");
  return v;
}

/** A string from `allowed`. */
export function enumField<T extends string>(fields: Fields, key: string, allowed: readonly T[]): T {
  const v = stringField(fields, key);
  if (!(allowed as readonly string[]).includes(v)) {
    throw new UsageError(`${fields.at}.${key}`, `must be one of ${allowed.join(", ")} (got "${v}")`);
  }
  return v as T;
}

/** A number within [min, max], or `fallback` when absent (a required field has no fallback). */
export function numberField(fields: Fields, key: string, min: number, max: number, fallback?: number): number {
  const v = fields.value[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) {
    throw new UsageError(`${fields.at}.${key}`, `must be a number from ${min} to ${max}`);
  }
  return v;
}

/** An optional number within [min, max]. */
export function optionalNumberField(fields: Fields, key: string, min: number, max: number): number | undefined {
  return fields.value[key] === undefined ? undefined : numberField(fields, key, min, max);
}

/** A boolean, or `fallback` when absent. */
export function booleanField(fields: Fields, key: string, fallback: boolean): boolean {
  const v = fields.value[key];
  if (v === undefined) return fallback;
  if (typeof v !== "boolean") throw new UsageError(`${fields.at}.${key}`, "must be true or false");
  return v;
}

/** A non-empty list of mappings. */
export function listField(fields: Fields, key: string): Fields[] {
  const v = fields.value[key];
  if (!Array.isArray(v) || v.length === 0) throw new UsageError(`${fields.at}.${key}`, "must be a non-empty list");
  return v.map((item, i) => asFields(item, `${fields.at}.${key}[${i}]`));
}
