/**
 * Circuit breakers (cockatiel) per engine, and per engine and tenant: a call
 * passes the engine's breaker, then its tenant's. An engine fault (unreachable,
 * too slow, failed, an invalid response) counts as a failure; a refusal of the
 * request (the engine answered) counts as a success. An open breaker fails
 * fast with ENGINE_CIRCUIT_OPEN; after `halfOpenAfterMs` one probe goes
 * through while every other call still fails fast (so no call waits on a
 * probe past its own deadline), and the probe's result closes or re-opens it:
 * only an engine outcome decides a probe (a call the tenant's breaker refuses
 * never reaches the engine's). An open engine breaker is due its probe as
 * soon as the engine's channel connects again; when it closes, every tenant
 * breaker that opened during the engine's fault is due its own probe at once
 * instead of at the end of its own timer.
 * Every state change is told to `onChange` (metrics, log, audit).
 */
import {
  BrokenCircuitError,
  type CircuitBreakerPolicy,
  CircuitState,
  circuitBreaker,
  handleWhen,
  SamplingBreaker,
} from "cockatiel";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { SeleneError } from "../../runtime/selene-error.js";
import { createHalfOpenTimer, type HalfOpenTimer } from "./half-open-timer.js";
import type { BreakerPolicy, EnginePolicy } from "./resilience-policy.js";

/** A breaker's state, as metrics and audit records name it. */
export type BreakerState = "closed" | "open" | "half_open";

/** One state change of one breaker. */
export interface BreakerChange {
  readonly engine: string;
  /** The tenant of a per-tenant breaker; undefined for the engine's own. */
  readonly tenant: string | undefined;
  readonly from: BreakerState;
  readonly to: BreakerState;
  /** The reason of the failure that opened it, when it opened. */
  readonly reason: ReasonCode | undefined;
}

/** The reasons that say the engine (not the request) is at fault. */
export const ENGINE_FAULTS: ReadonlySet<ReasonCode> = new Set([
  ReasonCode.ENGINE_UNAVAILABLE,
  ReasonCode.ENGINE_DEADLINE_EXCEEDED,
  ReasonCode.ENGINE_FAILED,
  ReasonCode.ENGINE_INVALID_RESPONSE,
  ReasonCode.PEER_IDENTITY_MISMATCH,
]);

/** Whether an error is an engine fault. */
export function isEngineFault(e: unknown): boolean {
  return e instanceof SeleneError && ENGINE_FAULTS.has(e.reason);
}

/** The breakers of every engine. */
export interface EngineBreakers {
  /**
   * Runs `fn` through the engine's breaker and the tenant's; ENGINE_CIRCUIT_OPEN when either is
   * open. `fn` is told whether it is a half-open breaker's probe.
   */
  execute<T>(engine: string, tenant: string, fn: (probe: boolean) => Promise<T>): Promise<T>;
  /** The state of the engine's breaker (or the tenant's). */
  state(engine: string, tenant?: string): BreakerState;
  /**
   * The engine's channel is connected again after it was not: its breaker, when open, is due its
   * probe at once instead of at the end of its half-open time (the channel's state says when the
   * engine may be back; the probe, a real call, still decides).
   */
  reconnected(engine: string): void;
}

/** Per-tenant breakers kept per engine at most; closed ones are dropped first past it. */
const MAX_TENANT_BREAKERS = 1024;

const NAMES: Record<CircuitState, BreakerState> = {
  [CircuitState.Closed]: "closed",
  [CircuitState.Open]: "open",
  [CircuitState.HalfOpen]: "half_open",
  [CircuitState.Isolated]: "open",
};

/** Creates the breakers of `engines`. */
export function createEngineBreakers(
  engines: Readonly<Record<string, EnginePolicy>>,
  onChange: (change: BreakerChange) => void,
): EngineBreakers {
  /** One breaker and its half-open clock. */
  interface Breaker {
    readonly circuit: CircuitBreakerPolicy;
    readonly timer: HalfOpenTimer;
  }

  // Per engine, since when its current fault has been failing calls: the start of the window whose
  // failures opened its breaker. Undefined while it is closed.
  const faultSince = new Map<string, number>();

  const make = (policy: BreakerPolicy, engine: string, tenant: string | undefined): Breaker => {
    const timer = createHalfOpenTimer(policy.halfOpenAfterMs);
    const breaker = circuitBreaker(handleWhen(isEngineFault), {
      halfOpenAfter: timer.backoff,
      breaker: new SamplingBreaker({
        threshold: policy.failureRatio,
        duration: policy.windowMs,
        minimumRps: policy.minimumRps,
      }),
    });
    let last: BreakerState = "closed";
    breaker.onStateChange((state) => {
      const to = NAMES[state];
      const failure = breaker.lastFailure;
      const error = failure !== undefined && "error" in failure ? failure.error : undefined;
      const reason = to === "open" && error instanceof SeleneError ? error.reason : undefined;
      const from = last;
      last = to;
      onChange({ engine, tenant, from, to, reason });
      if (tenant !== undefined) return;
      if (from === "closed" && to === "open") faultSince.set(engine, timer.openedAt() - policy.windowMs);
      if (to === "closed") releaseTenants(engine);
    });
    return { circuit: breaker, timer };
  };

  /**
   * The engine's breaker closed on a probe that the engine answered: each tenant breaker that
   * opened during the engine's fault is due its own probe now. Waiting out its own timer, each
   * tenant stayed refused for up to `halfOpenAfterMs` after the engine was serving again.
   * A tenant breaker that opened before the fault (that tenant's own failures) keeps its timer.
   */
  function releaseTenants(engine: string): void {
    const since = faultSince.get(engine);
    faultSince.delete(engine);
    if (since === undefined) return;
    for (const b of tenants.get(engine)!.values()) {
      if (b.circuit.state === CircuitState.Open && b.timer.openedAt() >= since) b.timer.release();
    }
  }

  /** Whether `breaker` refuses a call made now: half-open (its probe is out), or open and not yet due. */
  const refuses = ({ circuit, timer }: Breaker) =>
    circuit.state === CircuitState.HalfOpen || (circuit.state === CircuitState.Open && !timer.due());

  const own = new Map<string, Breaker>();
  const tenants = new Map<string, Map<string, Breaker>>();
  for (const [engine, policy] of Object.entries(engines) as [string, EnginePolicy][]) {
    own.set(engine, make(policy.breaker, engine, undefined));
    tenants.set(engine, new Map());
  }

  function tenantBreaker(engine: string, tenant: string): Breaker | undefined {
    const policy = engines[engine]!.tenantBreaker;
    if (policy === null) return undefined;
    const map = tenants.get(engine)!;
    let breaker = map.get(tenant);
    if (breaker === undefined) {
      if (map.size >= MAX_TENANT_BREAKERS) {
        for (const [key, b] of map) {
          if (b.circuit.state === CircuitState.Closed) {
            map.delete(key);
            break;
          }
        }
      }
      breaker = make(policy, engine, tenant);
      map.set(tenant, breaker);
    }
    return breaker;
  }

  const openError = (engine: string, policy: BreakerPolicy, tenant?: string) =>
    new SeleneError(
      ReasonCode.ENGINE_CIRCUIT_OPEN,
      tenant === undefined
        ? `${engine}'s circuit breaker is open`
        : `${engine}'s circuit breaker is open for tenant ${tenant}`,
      { retryAfterMs: policy.halfOpenAfterMs, metadata: { engine, scope: tenant === undefined ? "engine" : "tenant" } },
    );

  /** One breaker: a half-open one lets its one probe through and fails every other call fast. */
  async function through<T>(
    { circuit: breaker }: Breaker,
    error: () => SeleneError,
    fn: (probe: boolean) => Promise<T>,
  ) {
    if (breaker.state === CircuitState.HalfOpen) throw error();
    // An open breaker that lets this call through makes it the probe.
    const probe = breaker.state === CircuitState.Open;
    try {
      return await breaker.execute(() => fn(probe));
    } catch (e) {
      if (e instanceof BrokenCircuitError) throw error();
      throw e;
    }
  }

  return {
    execute(engine, tenant, fn) {
      const policy = engines[engine]!;
      const perTenant = tenantBreaker(engine, tenant);
      // The tenant's refusal is decided before the engine's breaker sees the call: made inside it,
      // it would end an engine probe with no engine outcome, which cockatiel counts as a success
      // (it closes on any error it does not handle), closing the engine's breaker without evidence.
      if (perTenant !== undefined && refuses(perTenant)) {
        return Promise.reject(openError(engine, policy.tenantBreaker!, tenant));
      }
      const inner =
        perTenant === undefined
          ? fn
          : (probe: boolean) =>
              through(
                perTenant,
                () => openError(engine, policy.tenantBreaker!, tenant),
                (tenantProbe) => fn(probe || tenantProbe),
              );
      return through(own.get(engine)!, () => openError(engine, policy.breaker), inner);
    },
    state(engine, tenant) {
      const breaker = tenant === undefined ? own.get(engine) : tenants.get(engine)?.get(tenant);
      return breaker === undefined ? "closed" : NAMES[breaker.circuit.state];
    },
    reconnected(engine) {
      const breaker = own.get(engine);
      if (breaker?.circuit.state === CircuitState.Open) breaker.timer.release();
    },
  };
}
