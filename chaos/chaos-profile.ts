/**
 * A chaos profile (chaos/profiles/<name>.yaml): the load to run, the timeline (steady before the
 * fault, the fault, recovery after it), the faults, and the pass/fail criteria. A bad field is a
 * UsageError naming the file and the field.
 */
import { basename } from "node:path";
import { durationValueMs } from "../bench/load/duration-text.js";
import { UsageError } from "../bench/load/usage-error.js";
import {
  asFields,
  booleanField,
  enumField,
  type Fields,
  listField,
  numberField,
  onlyKeys,
  optionalNumberField,
  readYamlFile,
  stringField,
} from "../bench/load/yaml-fields.js";
import { MESH_ORDER } from "../deploy/mesh-processes.js";

/** The mesh's engines, each with a fault proxy on its link from the router. */
export const CHAOS_ENGINES = ["nlp", "tools", "reminders", "calc"] as const;

/** The connections a fault proxy sits on: client process -> server. */
export const PROXY_LINKS = [
  ...CHAOS_ENGINES.map((engine) => `router-${engine}` as const),
  "router-outbox",
  "router-postgres",
  "outbox-postgres",
] as const;

/** A connection with a fault proxy on it. */
export type ProxyLink = (typeof PROXY_LINKS)[number];

/** A network fault on one link, for the fault window. */
export interface ProxyFaultSpec {
  readonly kind: "proxy";
  readonly link: ProxyLink;
  readonly latencyMs: number | undefined;
  readonly jitterMs: number | undefined;
  readonly bandwidthBytesPerSec: number | undefined;
  readonly mode: "pass" | "reset" | "blackhole" | "half-open";
}

/**
 * The link's calls fail one in `failEvery` (2: half of them), or one in `delayEvery` is held
 * `delayMs` (a latency spike on a share of the calls), or the answer of one call of the method
 * `loseAnswerOf` in `loseAnswerEvery` is lost after the server did the call's work, each call on
 * its own, the connection up.
 */
export interface StreamFaultSpec {
  readonly kind: "streams";
  readonly link: StreamLink;
  readonly failEvery: number | undefined;
  readonly delayEvery: number | undefined;
  readonly delayMs: number | undefined;
  readonly loseAnswerEvery: number | undefined;
  /** A method name, such as "Enqueue". */
  readonly loseAnswerOf: string | undefined;
}

/** The links from the router to an engine (a stream fault needs an engine at the other end). */
export const ENGINE_LINKS = ["router-nlp", "router-tools", "router-reminders", "router-calc"] as const;

/** The links a stream fault can sit on: the router's gRPC links to the engines and to the outbox. */
export const STREAM_LINKS = [...ENGINE_LINKS, "router-outbox"] as const;

/** A link whose calls a stream fault can fail one by one. */
export type StreamLink = (typeof STREAM_LINKS)[number];

/** A process fault: kill (SIGKILL, started again when the window ends), stop (SIGSTOP, then SIGCONT), restart (SIGTERM and start at once). */
export interface ProcessFaultSpec {
  readonly kind: "process";
  readonly target: (typeof MESH_ORDER)[number];
  readonly action: "kill" | "stop" | "restart";
}

/** PostgreSQL stopped for the fault window, then started again. */
export interface PostgresFaultSpec {
  readonly kind: "postgres";
  readonly action: "restart";
}

/** One fault. */
export type FaultSpec = ProxyFaultSpec | StreamFaultSpec | ProcessFaultSpec | PostgresFaultSpec;

/** The pass/fail criteria. */
export interface ChaosCriteria {
  readonly maxDuplicateEffects: number;
  readonly maxLostEffects: number;
  /** Failed calls over calls started during the fault window. */
  readonly maxErrorRateDuringFault: number;
  /** Seconds after the fault by which the SLO must hold again (for `steadySeconds` in a row). */
  readonly recoverWithinS: number;
  readonly steadySeconds: number;
  readonly healthyAtEnd: boolean;
  /** Multiplies the SLO's latency budgets for this profile (the smoke profile runs on shared CI machines). */
  readonly latencyBudgetFactor: number;
  /**
   * Attempts the router made to the faulted engine per call during the fault window (retries and
   * hedges included), at most; undefined: not judged.
   */
  readonly maxAttemptsPerCall: number | undefined;
  /**
   * Seconds after a restarted process serves again by which the SLO must hold again (for
   * `steadySeconds`); undefined: not judged. Its start-up time is the process's, not the mesh's.
   */
  readonly recoverWithinAfterServingS: number | undefined;
  /**
   * Seconds after the fault clears (after a restarted process serves again) by which every read
   * turn succeeds again, answered by its engine, a retry or its fallback, for `steadySeconds` in a
   * row; undefined: not judged.
   */
  readonly readsRecoverWithinS: number | undefined;
  /** The faulted engine's breaker must open during the fault and close after it. */
  readonly breakerOpensAndCloses: boolean;
  /** Failed calls over calls started in the fault window, of the turns that do not read (clarify, confirm, execute). */
  readonly maxOtherErrorRateDuringFault: number | undefined;
  /** The most any engine call may end past its deadline over the whole run, ms; undefined: not judged. */
  readonly maxDeadlineOverrunMs: number | undefined;
}

/** A loaded profile. */
export interface ChaosProfile {
  readonly name: string;
  readonly description: string;
  readonly load: {
    readonly concurrency: number;
    readonly rps: number;
    readonly timeoutMs: number;
    readonly retries: number;
  };
  readonly beforeMs: number;
  readonly faultMs: number;
  readonly afterMs: number;
  readonly faults: readonly FaultSpec[];
  readonly criteria: ChaosCriteria;
}

function duration(fields: Fields, key: string): number {
  if (fields.value[key] === undefined)
    throw new UsageError(`${fields.at}.${key}`, "is required (a duration such as 10s)");
  return durationValueMs(fields.value[key], `${fields.at}.${key}`);
}

function optionalDurationS(fields: Fields, key: string): number | undefined {
  return fields.value[key] === undefined ? undefined : durationValueMs(fields.value[key], `${fields.at}.${key}`) / 1000;
}

function optionalDuration(fields: Fields, key: string): number | undefined {
  return fields.value[key] === undefined ? undefined : duration(fields, key);
}

function readFault(f: Fields): FaultSpec {
  const kind = enumField(f, "kind", ["proxy", "streams", "process", "postgres"] as const);
  if (kind === "streams") {
    onlyKeys(f, ["kind", "link", "fail_every", "delay_every", "delay", "lose_answer_every", "lose_answer_of"]);
    const spec: StreamFaultSpec = {
      kind,
      link: enumField(f, "link", STREAM_LINKS),
      failEvery: optionalNumberField(f, "fail_every", 2, 1000),
      delayEvery: optionalNumberField(f, "delay_every", 1, 1000),
      delayMs: optionalDuration(f, "delay"),
      loseAnswerEvery: optionalNumberField(f, "lose_answer_every", 1, 1000),
      loseAnswerOf: f.value.lose_answer_of === undefined ? undefined : stringField(f, "lose_answer_of"),
    };
    if ((spec.delayEvery === undefined) !== (spec.delayMs === undefined))
      throw new UsageError(f.at, "delay_every and delay go together");
    if ((spec.loseAnswerEvery === undefined) !== (spec.loseAnswerOf === undefined))
      throw new UsageError(f.at, "lose_answer_every and lose_answer_of go together");
    if (spec.loseAnswerOf !== undefined && !/^[A-Z][A-Za-z]{0,63}$/.test(spec.loseAnswerOf))
      throw new UsageError(`${f.at}.lose_answer_of`, "must be a method name, such as Enqueue");
    if (spec.failEvery === undefined && spec.delayEvery === undefined && spec.loseAnswerEvery === undefined)
      throw new UsageError(
        f.at,
        "a streams fault needs fail_every, delay_every and delay, or lose_answer_every and lose_answer_of",
      );
    return spec;
  }
  if (kind === "proxy") {
    onlyKeys(f, ["kind", "link", "latency", "jitter", "bandwidth", "mode"]);
    const spec: ProxyFaultSpec = {
      kind,
      link: enumField(f, "link", PROXY_LINKS),
      latencyMs: optionalDuration(f, "latency"),
      jitterMs: optionalDuration(f, "jitter"),
      bandwidthBytesPerSec: optionalNumberField(f, "bandwidth", 1, 1e10),
      mode: f.value.mode === undefined ? "pass" : enumField(f, "mode", ["reset", "blackhole", "half-open"] as const),
    };
    if (spec.mode === "pass" && spec.latencyMs === undefined && spec.bandwidthBytesPerSec === undefined) {
      throw new UsageError(f.at, "a proxy fault needs latency, bandwidth or mode");
    }
    return spec;
  }
  if (kind === "process") {
    onlyKeys(f, ["kind", "target", "action"]);
    return {
      kind,
      target: enumField(f, "target", MESH_ORDER),
      action: enumField(f, "action", ["kill", "stop", "restart"] as const),
    };
  }
  onlyKeys(f, ["kind", "action"]);
  return { kind, action: enumField(f, "action", ["restart"] as const) };
}

/** Reads and checks a profile file. */
export function loadProfile(path: string): ChaosProfile {
  const root = readYamlFile(path);
  onlyKeys(root, ["name", "description", "load", "phases", "faults", "criteria"]);
  const name = stringField(root, "name");
  if (`${name}.yaml` !== basename(path))
    throw new UsageError(`${root.at}.name`, `must match the file name (${basename(path)})`);
  const load = asFields(root.value.load, `${root.at}.load`);
  onlyKeys(load, ["concurrency", "rps", "timeout", "retries"]);
  const phases = asFields(root.value.phases, `${root.at}.phases`);
  onlyKeys(phases, ["before", "fault", "after"]);
  const criteria = asFields(root.value.criteria, `${root.at}.criteria`);
  onlyKeys(criteria, [
    "duplicate_effects",
    "lost_effects",
    "max_error_rate_during_fault",
    "recover_within",
    "steady_seconds",
    "healthy_at_end",
    "latency_budget_factor",
    "max_attempts_per_call",
    "recover_within_after_serving",
    "reads_recover_within",
    "breaker_opens_and_closes",
    "max_other_error_rate_during_fault",
    "max_deadline_overrun_ms",
  ]);
  return {
    name,
    description: stringField(root, "description"),
    load: {
      concurrency: numberField(load, "concurrency", 1, 1000),
      rps: numberField(load, "rps", 1, 100_000),
      timeoutMs: duration(load, "timeout"),
      retries: numberField(load, "retries", 0, 100, 0),
    },
    beforeMs: duration(phases, "before"),
    faultMs: duration(phases, "fault"),
    afterMs: duration(phases, "after"),
    faults: listField(root, "faults").map(readFault),
    criteria: {
      maxDuplicateEffects: numberField(criteria, "duplicate_effects", 0, 0),
      maxLostEffects: numberField(criteria, "lost_effects", 0, 0),
      maxErrorRateDuringFault: numberField(criteria, "max_error_rate_during_fault", 0, 1),
      recoverWithinS: duration(criteria, "recover_within") / 1000,
      steadySeconds: numberField(criteria, "steady_seconds", 1, 60, 3),
      healthyAtEnd: booleanField(criteria, "healthy_at_end", true),
      latencyBudgetFactor: numberField(criteria, "latency_budget_factor", 1, 100, 1),
      maxAttemptsPerCall: optionalNumberField(criteria, "max_attempts_per_call", 1, 10),
      recoverWithinAfterServingS: optionalDurationS(criteria, "recover_within_after_serving"),
      readsRecoverWithinS: optionalDurationS(criteria, "reads_recover_within"),
      breakerOpensAndCloses: booleanField(criteria, "breaker_opens_and_closes", false),
      maxOtherErrorRateDuringFault: optionalNumberField(criteria, "max_other_error_rate_during_fault", 0, 1),
      maxDeadlineOverrunMs: optionalNumberField(criteria, "max_deadline_overrun_ms", 0, 10_000),
    },
  };
}
