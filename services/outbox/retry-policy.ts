/**
 * How often and how soon a failed effect is tried again, per effect type: a bound on attempts and
 * exponential backoff with full jitter (a random delay between zero and the exponential ceiling),
 * so that effects failing together do not retry together. Pure: the random source is a parameter.
 */
import { ConfigError } from "../runtime/service-config.js";

/** The retry bound and backoff of one effect type. */
export interface RetryPolicy {
  /** Attempts before the effect is dead-lettered, the first included. */
  readonly maxAttempts: number;
  /** The ceiling of the delay after the first failed attempt, ms. */
  readonly baseDelayMs: number;
  /** The ceiling never grows past this, ms. */
  readonly maxDelayMs: number;
}

/** The policies in force: one per named effect type, and a default for the others. */
export interface RetryPolicies {
  readonly defaultPolicy: RetryPolicy;
  readonly byEffectType: ReadonlyMap<string, RetryPolicy>;
}

/** The policy of an effect type without its own: 8 attempts, 200 ms base, 30 s cap. */
export const DEFAULT_RETRY_POLICY: RetryPolicy = Object.freeze({
  maxAttempts: 8,
  baseDelayMs: 200,
  maxDelayMs: 30_000,
});

/** Only the default policy. */
export const DEFAULT_RETRY_POLICIES: RetryPolicies = Object.freeze({
  defaultPolicy: DEFAULT_RETRY_POLICY,
  byEffectType: new Map<string, RetryPolicy>(),
});

const EFFECT_TYPE = /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/;
// Past 2^52 the ceiling is the cap anyway; the bound keeps the power finite.
const MAX_EXPONENT = 52;

/** The policy that applies to `effectType`. */
export function policyFor(policies: RetryPolicies, effectType: string): RetryPolicy {
  return policies.byEffectType.get(effectType) ?? policies.defaultPolicy;
}

/** The largest delay after failed attempt number `attempt` (1-based): min(cap, base * 2^(attempt-1)). */
export function delayCeilingMs(policy: RetryPolicy, attempt: number): number {
  const exponent = Math.min(Math.max(attempt, 1) - 1, MAX_EXPONENT);
  return Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
}

/**
 * The delay before the attempt that follows failed attempt number `attempt`: a whole number of
 * ms drawn uniformly from [0, delayCeilingMs] with `random` (which returns values in [0, 1)).
 */
export function nextDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number {
  const ceiling = delayCeilingMs(policy, attempt);
  return Math.min(ceiling, Math.floor(random() * (ceiling + 1)));
}

/**
 * Parses "reminders.create=5:100:10000,*=8:200:30000": per effect type (or "*" for the default)
 * maxAttempts:baseDelayMs:maxDelayMs. Unset or empty text gives the defaults.
 */
export function parseRetryPolicies(text: string | undefined, variable = "SELENE_OUTBOX_RETRY"): RetryPolicies {
  let defaultPolicy = DEFAULT_RETRY_POLICY;
  const byEffectType = new Map<string, RetryPolicy>();
  const seen = new Set<string>();
  for (const entry of (text ?? "").split(",").map((e) => e.trim())) {
    if (entry === "") continue;
    const match = /^([^=\s]+)=(\d{1,9}):(\d{1,9}):(\d{1,9})$/.exec(entry);
    const name = match?.[1] ?? "";
    if (match === null || (name !== "*" && !EFFECT_TYPE.test(name))) {
      throw new ConfigError(`${variable} entry "${entry}" must be <effect type or *>=maxAttempts:baseMs:maxMs`);
    }
    const policy = { maxAttempts: Number(match[2]), baseDelayMs: Number(match[3]), maxDelayMs: Number(match[4]) };
    if (policy.maxAttempts < 1 || policy.baseDelayMs < 1 || policy.maxDelayMs < policy.baseDelayMs) {
      throw new ConfigError(`${variable} entry "${entry}" needs maxAttempts >= 1 and 1 <= baseMs <= maxMs`);
    }
    if (seen.has(name)) throw new ConfigError(`${variable} names "${name}" twice`);
    seen.add(name);
    if (name === "*") defaultPolicy = Object.freeze(policy);
    else byEffectType.set(name, Object.freeze(policy));
  }
  return Object.freeze({ defaultPolicy, byEffectType });
}
