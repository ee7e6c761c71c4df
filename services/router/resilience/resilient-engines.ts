/**
 * Every engine call the router makes for a turn or an effect, under the
 * resilience policy of its capability: the call gets its share of what is
 * left of the deadline; each attempt passes the engine's breaker and its
 * tenant's, then the engine's bulkhead (full: ENGINE_BUSY at once, with a
 * retry hint, never a queue); a retryable engine fault is retried with
 * backoff, and a slow read hedged, within the deadline and the engine's retry
 * budget. A commit is retried only with its idempotency key, the same key on
 * every attempt, and waits within its deadline for the engine's channel, its
 * breaker and a bulkhead slot instead of failing without reaching the engine.
 * A read whose engine cannot answer falls back as declared:
 * to another engine's capability, or to its last good answer marked stale.
 */
import { setTimeout as sleep } from "node:timers/promises";
import type { MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import { type BulkheadPolicy, BulkheadRejectedError, bulkhead } from "cockatiel";
import type { EngineService, InvokeResponse } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { CapabilityKind } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { SeleneError } from "../../runtime/selene-error.js";
import type { CallOptions } from "../../runtime/unary-client.js";
import type { EngineRegistry, RegisteredCapability } from "../engine-registry.js";
import { type AttemptKind, MIN_ATTEMPT_MS, runAttempts } from "./attempts.js";
import { type EngineBreakers, isEngineFault } from "./engine-breakers.js";
import type { LastGoodAnswers } from "./last-good-answers.js";
import type { ResilienceMetrics } from "./resilience-metrics.js";
import type { CapabilityPolicy, ResiliencePolicy } from "./resilience-policy.js";
import { createRetryBudget, type RetryBudget } from "./retry-budget.js";

type Methods = (typeof EngineService)["method"];
/** The engine methods a turn or an effect calls. */
export type EngineMethod = "invoke" | "simulate" | "commit";

/** Who answered a read. */
export type ReadFallback =
  | { readonly kind: "engine"; readonly capability: string }
  | { readonly kind: "last_good"; readonly ageMs: number };

/** A read's answer and who gave it. */
export interface ReadAnswer {
  readonly response: InvokeResponse;
  /** The engine whose answer it is (the fallback's, when one answered). */
  readonly engine: string;
  /** Undefined when the capability's own engine answered. */
  readonly fallback: ReadFallback | undefined;
}

/** The router's engine calls under the policy. */
export interface ResilientEngines {
  /** Calls `method` of the engine serving `capability`. */
  call<K extends EngineMethod>(
    capability: RegisteredCapability,
    method: K,
    request: MessageInitShape<Methods[K]["input"]>,
    options: CallOptions,
  ): Promise<MessageShape<Methods[K]["output"]>>;
  /** Invokes a read, falling back as its policy declares. */
  read(
    capability: RegisteredCapability,
    request: MessageInitShape<Methods["invoke"]["input"]>,
    options: CallOptions,
  ): Promise<ReadAnswer>;
}

/** What the engines need. */
export interface ResilientEnginesDeps {
  readonly registry: EngineRegistry;
  readonly policy: ResiliencePolicy;
  readonly breakers: EngineBreakers;
  readonly lastGood: LastGoodAnswers;
  readonly metrics: ResilienceMetrics;
  readonly now?: () => number;
}

/** How long a breaker's probe waits at most for the engine's channel to connect: its longest reconnect backoff. */
const PROBE_READY_MS = 500;

/** How often a commit the router shed looks again whether the breaker or the bulkhead lets it through, ms at most. */
const SHED_COMMIT_POLL_MS = 100;

/** Thrown by an attempt cancelled because another attempt answered: never counted against the engine. */
class AttemptCancelled extends Error {}

/** Errors after which a read may fall back: the engine (not the request) failed, or is shed. */
function mayFallBack(e: unknown): boolean {
  return (
    isEngineFault(e) ||
    (e instanceof SeleneError &&
      (e.reason === ReasonCode.ENGINE_CIRCUIT_OPEN ||
        e.reason === ReasonCode.ENGINE_BUSY ||
        e.reason === ReasonCode.DEADLINE_EXCEEDED))
  );
}

/** A retryable engine fault; anything else (a refusal, an open breaker, a full bulkhead) is final. */
function retryable(e: unknown): boolean {
  return isEngineFault(e) && (e as SeleneError).retryable;
}

/** The idempotency key a request's envelope carries ("" when none). */
function keyOf(request: { envelope?: { idempotencyKey?: string } }): string {
  return request.envelope?.idempotencyKey ?? "";
}

/**
 * Attempts a call of `method` may make under `policy`: a commit is retried only when it carries its
 * idempotency key; every other call the policy's retry allows.
 */
export function maxAttemptsOf(method: EngineMethod, policy: CapabilityPolicy, idempotencyKey: string): number {
  if (method !== "commit") return policy.retry.maxAttempts;
  if (policy.commit === null || idempotencyKey === "") return 1;
  return policy.commit.maxAttempts;
}

/** Creates the engine calls over the registry's clients. */
export function createResilientEngines(deps: ResilientEnginesDeps): ResilientEngines {
  const now = deps.now ?? Date.now;
  const budgets = new Map<string, RetryBudget>();
  const bulkheads = new Map<string, BulkheadPolicy>();
  for (const [engine, policy] of Object.entries(deps.policy.engines) as [
    string,
    ResiliencePolicy["engines"][string],
  ][]) {
    budgets.set(engine, createRetryBudget({ ...policy.retryBudget, now }));
    bulkheads.set(engine, bulkhead(policy.bulkhead.maxInFlight, 0));
  }

  function policyOf(capability: RegisteredCapability): CapabilityPolicy {
    const policy = deps.policy.capabilities.get(capability.name);
    // The policy is checked against the declared capabilities at start, so this is a defect.
    if (policy === undefined) throw new SeleneError(ReasonCode.INTERNAL, `no resilience policy for ${capability.name}`);
    return policy;
  }

  function call<K extends EngineMethod>(
    capability: RegisteredCapability,
    method: K,
    request: MessageInitShape<Methods[K]["input"]>,
    options: CallOptions,
  ): Promise<MessageShape<Methods[K]["output"]>> {
    const { engine } = capability;
    const policy = policyOf(capability);
    const enginePolicy = deps.policy.engines[engine]!;
    const tenant = (request.envelope as { tenantId?: string } | undefined)?.tenantId ?? "";
    const key = keyOf(request as { envelope?: { idempotencyKey?: string } });
    const start = now();
    const deadline = start + Math.max(1, Math.floor(policy.deadlineShare * (options.deadline - start)));
    const client = deps.registry.client(engine);
    const slots = bulkheads.get(engine)!;
    deps.metrics.call(engine);

    /** One try of an attempt; `sent.engine` tells whether it reached the engine (not shed by a breaker or the bulkhead). */
    const once = (kind: AttemptKind, signal: AbortSignal | undefined, sent: { engine: boolean }) => {
      // The guard under the policy's own rule: whatever a policy says, a commit is never sent twice without its key.
      if (method === "commit" && kind !== "first" && key === "") {
        return Promise.reject(
          new SeleneError(ReasonCode.INTERNAL, "a commit without its idempotency key is never retried"),
        );
      }
      return deps.breakers.execute(engine, tenant, async (probe) => {
        // A breaker's probe goes out once the channel is connected again (it reconnects on its own
        // backoff), so the channel's state, not a probe failing on a channel still reconnecting, decides.
        if (probe) await client.ready(Math.min(deadline, now() + PROBE_READY_MS));
        try {
          return await slots.execute(() => {
            // Counted here: an attempt the breaker or the bulkhead refused never reached the engine.
            deps.metrics.attempt(engine, kind);
            sent.engine = true;
            return client.call(method, request, { deadline, correlationId: options.correlationId, signal });
          });
        } catch (e) {
          if (e instanceof BulkheadRejectedError) {
            deps.metrics.bulkheadRejected(engine);
            throw new SeleneError(
              ReasonCode.ENGINE_BUSY,
              `${engine} has ${enginePolicy.bulkhead.maxInFlight} calls in flight`,
              {
                retryAfterMs: enginePolicy.bulkhead.retryAfterMs,
                metadata: { engine },
              },
            );
          }
          if (signal?.aborted) throw new AttemptCancelled("another attempt answered");
          throw e;
        }
      });
    };

    // A commit is a confirmed effect the outbox hands out: shed by this router (an open breaker, a
    // full bulkhead) it never reached the engine, so it waits for the breaker or a slot within its
    // deadline instead of failing. Failing would nack the effect and spend one of the outbox's
    // attempts on nothing: through a fault that keeps a breaker open, effects ran out of attempts
    // (dead-lettered) or were scheduled seconds past the fault's end. For the same reason it waits
    // for the engine's channel to connect (a channel in TRANSIENT_FAILURE fails a call at once,
    // without reaching the engine): through a 10 s reset of the engine's connections, effects
    // failed 6 to 8 times and came back up to 9 s after the fault, their confirmations failing
    // until then. Turn calls still fail fast.
    const attempt = async (kind: AttemptKind, signal: AbortSignal | undefined) => {
      if (method === "commit") await client.ready(deadline - MIN_ATTEMPT_MS);
      for (;;) {
        const sent = { engine: false };
        try {
          return await once(kind, signal, sent);
        } catch (e) {
          const hint = e instanceof SeleneError ? e.retryAfterMs : undefined;
          if (method !== "commit" || sent.engine || hint === undefined || signal?.aborted) throw e;
          const wait = Math.min(hint, SHED_COMMIT_POLL_MS);
          if (now() + wait >= deadline - MIN_ATTEMPT_MS) throw e;
          await sleep(wait);
        }
      }
    };

    const attempts = runAttempts(
      {
        retry: { ...policy.retry, maxAttempts: maxAttemptsOf(method, policy, key) },
        hedgeAfterMs:
          method === "invoke" && capability.kind === CapabilityKind.READ
            ? (policy.hedgeAfterMs ?? undefined)
            : undefined,
        deadline,
        budget: budgets.get(engine)!,
        retryable,
        onBudgetSpent: () => deps.metrics.budgetSpent(engine),
        now,
      },
      attempt,
    ) as Promise<MessageShape<Methods[K]["output"]>>;
    // How far past its deadline the call ended, whatever its end: the chaos runs bound the worst.
    const ended = () => deps.metrics.ended(engine, now() - deadline);
    attempts.then(ended, ended);
    return attempts;
  }

  async function read(
    capability: RegisteredCapability,
    request: MessageInitShape<Methods["invoke"]["input"]>,
    options: CallOptions,
  ): Promise<ReadAnswer> {
    const fallback = policyOf(capability).fallback;
    const tenant = request.envelope?.tenantId ?? "";
    const args = request.input?.case === "read" ? (request.input.value.args ?? {}) : {};
    try {
      const response = await call(capability, "invoke", request, options);
      if (fallback !== null && "lastGood" in fallback && response.result.case === "readResult") {
        deps.lastGood.remember(tenant, capability.name, args, response);
      }
      return { response, engine: capability.engine, fallback: undefined };
    } catch (e) {
      if (fallback === null || !mayFallBack(e)) throw e;
      if ("lastGood" in fallback) {
        const recalled = deps.lastGood.recall(tenant, capability.name, args, fallback.lastGood.maxAgeMs);
        if (recalled === undefined) throw e;
        deps.metrics.fallback(capability.name, "last_good");
        return {
          response: recalled.response,
          engine: capability.engine,
          fallback: { kind: "last_good", ageMs: recalled.ageMs },
        };
      }
      const target = deps.registry.lookup(fallback.capability);
      if (target === undefined) throw e;
      try {
        const response = await call(target, "invoke", { ...request, capability: target.name }, options);
        deps.metrics.fallback(capability.name, "engine");
        return { response, engine: target.engine, fallback: { kind: "engine", capability: target.name } };
      } catch {
        throw e; // the caller hears of its own capability's failure
      }
    }
  }

  return { call, read };
}
