/**
 * Canonical JSON and sha256 digests: the one way every service turns a value into the
 * "sha256:<hex>" strings carried by provenance and effect digests, so two processes that
 * hold equal values always compute equal digests.
 */
import { createHash } from "node:crypto";

/** Why a value has no canonical JSON form. */
export type CanonicalJsonErrorCode = "NON_FINITE_NUMBER" | "UNDEFINED_IN_ARRAY" | "UNSUPPORTED_TYPE" | "CYCLE";

/** Thrown by canonicalJson when a value cannot be encoded; `code` is stable, the message is not. */
export class CanonicalJsonError extends TypeError {
  override readonly name = "CanonicalJsonError";
  /** What made the value unencodable. */
  readonly code: CanonicalJsonErrorCode;
  /** Where in the value, as a JSON-pointer-like path ("" is the root). */
  readonly path: string;

  constructor(code: CanonicalJsonErrorCode, path: string) {
    super(`cannot encode value as canonical JSON: ${code} at "${path}"`);
    this.code = code;
    this.path = path;
  }
}

/**
 * Encodes a value as JSON with object keys sorted by UTF-16 code units at every depth and no
 * whitespace. Arrays keep their order. Object properties whose value is undefined are omitted
 * (as JSON.stringify does); undefined inside an array, NaN, ±Infinity, bigint, functions,
 * symbols, cycles and objects other than plain objects and arrays are rejected.
 */
export function canonicalJson(value: unknown): string {
  const parts: string[] = [];
  encode(value, "", parts, new Set());
  return parts.join("");
}

/** Returns "sha256:" and the 64 lowercase hex digits of the SHA-256 of the input (strings as UTF-8). */
export function sha256Digest(input: string | Uint8Array): string {
  const hash = createHash("sha256");
  hash.update(typeof input === "string" ? Buffer.from(input, "utf8") : input);
  return `sha256:${hash.digest("hex")}`;
}

function encode(value: unknown, path: string, out: string[], open: Set<object>): void {
  switch (typeof value) {
    case "string":
      out.push(JSON.stringify(value));
      return;
    case "boolean":
      out.push(value ? "true" : "false");
      return;
    case "number":
      if (!Number.isFinite(value)) throw new CanonicalJsonError("NON_FINITE_NUMBER", path);
      // JSON.stringify prints -0 as "0" and otherwise the shortest round-trip form, as RFC 8785 does.
      out.push(JSON.stringify(value));
      return;
    case "object":
      if (value === null) {
        out.push("null");
        return;
      }
      if (open.has(value)) throw new CanonicalJsonError("CYCLE", path);
      open.add(value);
      if (Array.isArray(value)) encodeArray(value, path, out, open);
      else encodeObject(value, path, out, open);
      open.delete(value);
      return;
    default:
      throw new CanonicalJsonError("UNSUPPORTED_TYPE", path);
  }
}

function encodeArray(items: readonly unknown[], path: string, out: string[], open: Set<object>): void {
  out.push("[");
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (item === undefined) throw new CanonicalJsonError("UNDEFINED_IN_ARRAY", `${path}/${i}`);
    if (i > 0) out.push(",");
    encode(item, `${path}/${i}`, out, open);
  }
  out.push("]");
}

function encodeObject(value: object, path: string, out: string[], open: Set<object>): void {
  const proto = Object.getPrototypeOf(value);
  // Class instances (Date, Map, typed arrays, messages) have no single obvious JSON form: refuse them.
  if (proto !== Object.prototype && proto !== null) throw new CanonicalJsonError("UNSUPPORTED_TYPE", path);
  const record = value as Record<string, unknown>;
  // Default sort compares UTF-16 code units, the order RFC 8785 prescribes.
  const keys = Object.keys(record).sort();
  out.push("{");
  let first = true;
  for (const key of keys) {
    const child = record[key];
    if (child === undefined) continue;
    if (!first) out.push(",");
    first = false;
    out.push(JSON.stringify(key), ":");
    encode(child, `${path}/${key}`, out, open);
  }
  out.push("}");
}
