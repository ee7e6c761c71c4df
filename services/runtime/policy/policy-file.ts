/**
 * Where the policy files live and how one is read: policy/<name>.json at the project root (from
 * source this module is services/runtime/policy/; compiled, dist/services/runtime/policy/; in the
 * application image policy/ sits beside dist/). A file that is missing, not JSON or breaks its
 * rules stops the process at start with a PolicyError naming the file and the place.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { canonicalJson, sha256Digest } from "../content-digest.js";
import { lineOf } from "./policy-line.js";

const HERE = dirname(fileURLToPath(import.meta.url));
const POLICY_ROOT = [join(HERE, "..", "..", "..", "policy"), join(HERE, "..", "..", "..", "..", "policy")].find((dir) =>
  existsSync(dir),
);

/**
 * A policy file that cannot be used; `path` is the JSON path of the fault ("" for the file), `line`
 * the line of the file it is on (undefined until the error is located in the file's text).
 */
export class PolicyError extends Error {
  override readonly name = "PolicyError";
  constructor(
    readonly file: string,
    readonly path: string,
    readonly detail: string,
    readonly line?: number,
  ) {
    super(`${file}${line === undefined ? "" : `:${line}`}${path === "" ? "" : ` at ${path}`}: ${detail}`);
  }
}

/** The path of the project's policy file `name` (such as "clarify"). */
export function policyPath(name: string): string {
  if (POLICY_ROOT === undefined) throw new PolicyError(`policy/${name}.json`, "", "no policy/ directory found");
  return join(POLICY_ROOT, `${name}.json`);
}

/** A parsed policy file's JSON, its text, and the digest of its canonical form (what decisions record). */
export interface PolicyDocument {
  readonly json: unknown;
  readonly text: string;
  readonly digest: string;
}

/** Reads and parses a policy file. */
export function readPolicyFile(path: string): PolicyDocument {
  let json: unknown;
  let text: string;
  try {
    text = readFileSync(path, "utf8");
    json = JSON.parse(text);
  } catch (e) {
    throw new PolicyError(path, "", e instanceof Error ? e.message : String(e));
  }
  return { json, text, digest: sha256Digest(canonicalJson(json)) };
}

/** Runs `check` on a document read from `file`; a PolicyError it throws about that file names the line. */
export function checkedWithLines<T>(file: string, document: PolicyDocument, check: () => T): T {
  try {
    return check();
  } catch (e) {
    if (!(e instanceof PolicyError) || e.file !== file || e.line !== undefined) throw e;
    throw new PolicyError(e.file, e.path, e.detail, lineOf(document.text, e.path));
  }
}

/** Checks that `value` is a plain object, else throws at `path`. */
export function objectAt(file: string, path: string, value: unknown): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new PolicyError(file, path, "must be an object");
  }
  return value as Record<string, unknown>;
}

/** Checks that `value` is a string of 1..maxLength characters, else throws at `path`. */
export function stringAt(file: string, path: string, value: unknown, maxLength = 512): string {
  if (typeof value !== "string" || value === "" || value.length > maxLength) {
    throw new PolicyError(file, path, `must be a string of 1..${maxLength} characters`);
  }
  return value;
}

/** Checks that an object has only the `allowed` keys. */
export function onlyKeys(file: string, path: string, value: Record<string, unknown>, allowed: readonly string[]) {
  const extra = Object.keys(value)
    .sort()
    .find((key) => !allowed.includes(key));
  if (extra !== undefined) throw new PolicyError(file, `${path}.${extra}`, "is not a known key");
}
