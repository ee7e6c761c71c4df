/**
 * The resilience policy (policy/resilience.json): per engine a bulkhead, a
 * circuit breaker (and one per engine and tenant), a retry budget; per
 * capability a deadline share, bounded retries with backoff, hedging and a
 * fallback. Read and checked once at router start: a bad value stops the
 * router with an error naming the field, so no turn ever runs on a policy
 * nobody meant. Reads may be retried, hedged and fall back; an effect's dry
 * run may be retried (it changes nothing); its commit may be retried only
 * with its idempotency key, and never falls back.
 */
import { CapabilityKind } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { CAPABILITY_KINDS, type DeclaredCapability, kindName } from "../../runtime/policy/engine-catalog.js";
import { checkedWithLines, PolicyError, readPolicyFile } from "../../runtime/policy/policy-file.js";

/** The policy file's format version this router reads. */
export const POLICY_VERSION = 1;

/** A circuit breaker: opens when the failed share of calls in the window reaches the ratio. */
export interface BreakerPolicy {
  /** Share of failed calls in the window that opens the breaker, in (0, 1). */
  readonly failureRatio: number;
  /** The sliding window the ratio is taken over, ms. */
  readonly windowMs: number;
  /** Calls per second the window must see before it may open (a quiet engine never trips). */
  readonly minimumRps: number;
  /** How long it stays open before one probe call is let through (half-open), ms. */
  readonly halfOpenAfterMs: number;
}

/** What the router allows one engine. */
export interface EnginePolicy {
  /** Calls in flight to the engine at most; past it, ENGINE_BUSY with `retryAfterMs` as the hint. */
  readonly bulkhead: { readonly maxInFlight: number; readonly retryAfterMs: number };
  readonly breaker: BreakerPolicy;
  /** A breaker per engine and tenant, so one tenant's failing traffic does not open it for all; null: none. */
  readonly tenantBreaker: BreakerPolicy | null;
  /** Retries (and hedges) at most `ratio` of calls over the window, and at least `floor` per window. */
  readonly retryBudget: { readonly ratio: number; readonly windowMs: number; readonly floor: number };
}

/** Attempts of one call, and the backoff between them. */
export interface RetryPolicy {
  /** Attempts at most, the first included (1: never retried). */
  readonly maxAttempts: number;
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  readonly multiplier: number;
}

/** What answers a read when its engine cannot. */
export type FallbackPolicy =
  | { readonly capability: string }
  | { readonly lastGood: { readonly maxAgeMs: number } }
  | null;

/** What the router does for one capability's calls. */
export interface CapabilityPolicy {
  /** Share of what is left of the turn's budget the call (every attempt of it) may use, in (0, 1]. */
  readonly deadlineShare: number;
  /** Retries of reads, understandings and dry runs (simulate). */
  readonly retry: RetryPolicy;
  /** Reads only: a second attempt starts when the first has not answered after this long, ms; null: none. */
  readonly hedgeAfterMs: number | null;
  /** Reads only. */
  readonly fallback: FallbackPolicy;
  /** Effects only: retries of the commit, each with the effect's idempotency key. */
  readonly commit: { readonly maxAttempts: number; readonly requireIdempotencyKey: true } | null;
}

/** The whole policy. */
export interface ResiliencePolicy {
  readonly version: number;
  /** By catalog engine name: the engine's own entry, or the "default" entry. */
  readonly engines: Readonly<Record<string, EnginePolicy>>;
  readonly capabilities: ReadonlyMap<string, CapabilityPolicy>;
}

export type { DeclaredCapability };

/** The key of the engine entry (and of the capability entries, by kind) that serve every catalog engine and capability without one of its own. */
const DEFAULT_ENGINE = "default";

type Json = Record<string, unknown>;

/** The file being checked, for the errors (set by parseResiliencePolicy). */
let currentFile = "policy/resilience.json";

function fail(path: string, rule: string, value: unknown): never {
  throw new PolicyError(currentFile, path, `${rule}, got ${JSON.stringify(value) ?? "nothing"}`);
}

/** The path of a field: `a.b`, or `a["b.c"]` for a key that is not an identifier (a capability). */
function fieldPath(path: string, key: string): string {
  return /^[A-Za-z_]\w*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

function object(value: unknown, path: string, keys: readonly string[]): Json {
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(path, "must be an object", value);
  for (const key of Object.keys(value)) {
    if (!keys.includes(key))
      fail(fieldPath(path, key), `is not a field (fields: ${keys.join(", ")})`, value[key as never]);
  }
  for (const key of keys) if (!(key in value)) fail(fieldPath(path, key), "must be set", undefined);
  return value as Json;
}

function int(o: Json, key: string, path: string, min: number, max: number): number {
  const v = o[key];
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    fail(`${path}.${key}`, `must be an integer from ${min} to ${max}`, v);
  }
  return v;
}

function ratio(o: Json, key: string, path: string, min: number, max: number, minOpen = false, maxOpen = false): number {
  const v = o[key];
  const low = minOpen ? v === min : false;
  const high = maxOpen ? v === max : false;
  if (typeof v !== "number" || !Number.isFinite(v) || v > max || v < min || low || high) {
    fail(`${path}.${key}`, `must be a number in ${minOpen ? "(" : "["}${min}, ${max}${maxOpen ? ")" : "]"}`, v);
  }
  return v;
}

function breaker(value: unknown, path: string): BreakerPolicy {
  const o = object(value, path, ["failureRatio", "windowMs", "minimumRps", "halfOpenAfterMs"]);
  return {
    failureRatio: ratio(o, "failureRatio", path, 0, 1, true, true),
    windowMs: int(o, "windowMs", path, 100, 600_000),
    minimumRps: ratio(o, "minimumRps", path, 0, 10_000, true),
    halfOpenAfterMs: int(o, "halfOpenAfterMs", path, 10, 600_000),
  };
}

function engine(value: unknown, path: string): EnginePolicy {
  const o = object(value, path, ["bulkhead", "breaker", "tenantBreaker", "retryBudget"]);
  const bulkhead = object(o.bulkhead, `${path}.bulkhead`, ["maxInFlight", "retryAfterMs"]);
  const budget = object(o.retryBudget, `${path}.retryBudget`, ["ratio", "windowMs", "floor"]);
  return {
    bulkhead: {
      maxInFlight: int(bulkhead, "maxInFlight", `${path}.bulkhead`, 1, 10_000),
      retryAfterMs: int(bulkhead, "retryAfterMs", `${path}.bulkhead`, 1, 60_000),
    },
    breaker: breaker(o.breaker, `${path}.breaker`),
    tenantBreaker: o.tenantBreaker === null ? null : breaker(o.tenantBreaker, `${path}.tenantBreaker`),
    // Retries stay at most 10% of calls: the bound the issue sets for a failing engine's load.
    retryBudget: {
      ratio: ratio(budget, "ratio", `${path}.retryBudget`, 0, 0.1),
      windowMs: int(budget, "windowMs", `${path}.retryBudget`, 1000, 600_000),
      floor: int(budget, "floor", `${path}.retryBudget`, 0, 100),
    },
  };
}

function retry(value: unknown, path: string): RetryPolicy {
  const o = object(value, path, ["maxAttempts", "initialBackoffMs", "maxBackoffMs", "multiplier"]);
  const initialBackoffMs = int(o, "initialBackoffMs", path, 0, 10_000);
  return {
    maxAttempts: int(o, "maxAttempts", path, 1, 5),
    initialBackoffMs,
    maxBackoffMs: int(o, "maxBackoffMs", path, initialBackoffMs, 60_000),
    multiplier: ratio(o, "multiplier", path, 1, 10),
  };
}

function fallback(value: unknown, path: string, self: DeclaredCapability, all: readonly DeclaredCapability[]) {
  if (value === null) return null;
  if (self[2] !== CapabilityKind.READ) fail(path, "must be null: only a read may fall back", value);
  const o = value as Json;
  if (typeof o === "object" && "lastGood" in o) {
    const lastGood = object(object(o, path, ["lastGood"]).lastGood, `${path}.lastGood`, ["maxAgeMs"]);
    return { lastGood: { maxAgeMs: int(lastGood, "maxAgeMs", `${path}.lastGood`, 1, 7 * 24 * 3600_000) } };
  }
  const capability = object(value, path, ["capability"]).capability;
  const target = all.find(([name]) => name === capability);
  if (target === undefined) fail(`${path}.capability`, "must name a declared capability", capability);
  if (target[2] !== CapabilityKind.READ) fail(`${path}.capability`, "must name a read", capability);
  if (target[1] === self[1]) fail(`${path}.capability`, "must be served by another engine", capability);
  return { capability: target[0] };
}

function capability(value: unknown, path: string, self: DeclaredCapability, all: readonly DeclaredCapability[]) {
  const kind = self[2];
  const effect = kind === CapabilityKind.EFFECT;
  const o = object(value, path, ["deadlineShare", "retry", "hedgeAfterMs", "fallback", ...(effect ? ["commit"] : [])]);
  const retries = retry(o.retry, `${path}.retry`);
  let hedgeAfterMs: number | null = null;
  if (o.hedgeAfterMs !== null) {
    if (kind !== CapabilityKind.READ)
      fail(`${path}.hedgeAfterMs`, "must be null: only a read is hedged", o.hedgeAfterMs);
    hedgeAfterMs = int(o, "hedgeAfterMs", path, 1, 60_000);
    if (retries.maxAttempts < 2)
      fail(`${path}.hedgeAfterMs`, "needs retry.maxAttempts >= 2 (a hedge is an attempt)", o.hedgeAfterMs);
  }
  let commit: CapabilityPolicy["commit"] = null;
  if (effect) {
    const c = object(o.commit, `${path}.commit`, ["maxAttempts", "requireIdempotencyKey"]);
    if (c.requireIdempotencyKey !== true) {
      fail(
        `${path}.commit.requireIdempotencyKey`,
        "must be true: a commit is only ever retried with its key",
        c.requireIdempotencyKey,
      );
    }
    commit = { maxAttempts: int(c, "maxAttempts", `${path}.commit`, 1, 5), requireIdempotencyKey: true };
  }
  return {
    deadlineShare: ratio(o, "deadlineShare", path, 0, 1, true),
    retry: retries,
    hedgeAfterMs,
    fallback: fallback(o.fallback, `${path}.fallback`, self, all),
    commit,
  };
}

/** Every catalog engine's policy: its own entry or the default; an entry for no catalog engine is refused. */
function enginePolicies(value: unknown, names: readonly string[]): Record<string, EnginePolicy> {
  const keys = [...names, DEFAULT_ENGINE];
  if (typeof value !== "object" || value === null || Array.isArray(value))
    fail("policy.engines", "must be an object", value);
  const o = value as Json;
  for (const key of Object.keys(o)) {
    if (!keys.includes(key)) fail(fieldPath("policy.engines", key), "is not an engine of the catalog", o[key]);
  }
  const fallback = DEFAULT_ENGINE in o ? engine(o[DEFAULT_ENGINE], `policy.engines.${DEFAULT_ENGINE}`) : undefined;
  return Object.fromEntries(
    names.map((name) => {
      const path = fieldPath("policy.engines", name);
      if (name in o) return [name, engine(o[name], path)];
      if (fallback === undefined) fail(path, `must be set (or a "${DEFAULT_ENGINE}" entry)`, undefined);
      return [name, fallback];
    }),
  );
}

/** Checks a parsed policy file against the declared capabilities; throws PolicyError naming the field. */
export function parseResiliencePolicy(
  value: unknown,
  declared: readonly DeclaredCapability[],
  file = "policy/resilience.json",
): ResiliencePolicy {
  currentFile = file;
  const root = object(value, "policy", ["version", "engines", "capabilities"]);
  if (root.version !== POLICY_VERSION) fail("policy.version", `must be ${POLICY_VERSION}`, root.version);
  const engines = enginePolicies(root.engines, [...new Set(declared.map(([, engine]) => engine))]);
  return { version: POLICY_VERSION, engines, capabilities: capabilityPolicies(root.capabilities, declared) };
}

/**
 * Every catalog capability's policy: its own entry, or the `default` entry of its kind (so a new
 * engine needs no entry of its own); an entry for no catalog capability is refused.
 */
function capabilityPolicies(value: unknown, declared: readonly DeclaredCapability[]): Map<string, CapabilityPolicy> {
  const path = "policy.capabilities";
  if (typeof value !== "object" || value === null || Array.isArray(value)) fail(path, "must be an object", value);
  const o = value as Json;
  const names = declared.map(([name]) => name);
  for (const key of Object.keys(o)) {
    if (key !== DEFAULT_ENGINE && !names.includes(key)) {
      fail(fieldPath(path, key), "is not a capability of the catalog", o[key]);
    }
  }
  const defaults = o[DEFAULT_ENGINE] === undefined ? {} : (o[DEFAULT_ENGINE] as Json);
  if (typeof defaults !== "object" || defaults === null || Array.isArray(defaults)) {
    fail(`${path}.${DEFAULT_ENGINE}`, "must be an object", defaults);
  }
  for (const key of Object.keys(defaults)) {
    if (!(key in CAPABILITY_KINDS))
      fail(`${path}.${DEFAULT_ENGINE}.${key}`, "is not a kind (UNDERSTAND, READ, EFFECT)", defaults[key]);
  }
  return new Map(
    declared.map((self) => {
      const [name] = self;
      if (name in o) return [name, capability(o[name], fieldPath(path, name), self, declared)];
      const kind = kindName(self[2]);
      if (!(kind in defaults)) fail(fieldPath(path, name), `must be set (or "${DEFAULT_ENGINE}.${kind}")`, undefined);
      return [name, capability(defaults[kind], `${path}.${DEFAULT_ENGINE}.${kind}`, self, declared)];
    }),
  );
}

/** Reads and checks the policy file at `path`. */
export function loadResiliencePolicy(path: string, declared: readonly DeclaredCapability[]): ResiliencePolicy {
  const document = readPolicyFile(path);
  return checkedWithLines(path, document, () => parseResiliencePolicy(document.json, declared, path));
}
