/**
 * The versioned benchmark corpus (bench/corpus/turns-v<N>.yaml): tenants with the client
 * certificate that acts for each, and turn fixtures with the outcome each must end in. The load
 * engine walks a fixed, seeded schedule drawn from the weights, so two runs send the same mix.
 */
import { UsageError } from "./usage-error.js";
import { enumField, type Fields, listField, numberField, onlyKeys, readYamlFile, stringField } from "./yaml-fields.js";

/** What a fixture must end in. */
export const EXPECTATIONS = ["answer", "clarify", "confirm", "refused", "executed"] as const;

/** One fixture's expected outcome; `executed` is a two-turn sequence (CONFIRM, then EXECUTED). */
export type Expectation = (typeof EXPECTATIONS)[number];

/** The outcome a single call must return: the SubmitTurnResponse oneof case. */
export type StepOutcome = Expectation;

/** A tenant of the corpus and the client identity (certificate name) that acts for it. */
export interface CorpusTenant {
  readonly tenant: string;
  readonly client: string;
  readonly weight: number;
}

/** One turn fixture. */
export interface TurnFixture {
  readonly id: string;
  /** The intent the NLP engine should find ("none" for an utterance nothing understands). */
  readonly intent: string;
  readonly expect: Expectation;
  readonly weight: number;
  /** The utterance; `{{unique}}` becomes a token unique to the run and the call. */
  readonly text: string;
}

/** A loaded corpus. */
export interface TurnCorpus {
  readonly version: number;
  readonly path: string;
  readonly tenants: readonly CorpusTenant[];
  readonly fixtures: readonly TurnFixture[];
}

/** Reads and checks a corpus file; a bad field is a UsageError naming it. */
export function loadCorpus(path: string): TurnCorpus {
  const root = readYamlFile(path);
  onlyKeys(root, ["version", "tenants", "fixtures"]);
  const version = numberField(root, "version", 1, 1000);
  const tenants = listField(root, "tenants").map((t): CorpusTenant => {
    onlyKeys(t, ["tenant", "client", "weight"]);
    const tenant = stringField(t, "tenant");
    if (!/^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/.test(tenant)) throw new UsageError(`${t.at}.tenant`, "must be a DNS label");
    return { tenant, client: stringField(t, "client"), weight: numberField(t, "weight", 1, 1000, 1) };
  });
  const fixtures = listField(root, "fixtures").map((f): TurnFixture => {
    onlyKeys(f, ["id", "intent", "expect", "weight", "text"]);
    return {
      id: stringField(f, "id"),
      intent: stringField(f, "intent"),
      expect: enumField(f, "expect", EXPECTATIONS),
      weight: numberField(f, "weight", 1, 1000, 1),
      text: stringField(f, "text"),
    };
  });
  uniqueIds(root, fixtures);
  return { version, path, tenants, fixtures };
}

function uniqueIds(root: Fields, fixtures: readonly TurnFixture[]): void {
  const seen = new Set<string>();
  for (const [i, f] of fixtures.entries()) {
    if (seen.has(f.id)) throw new UsageError(`${root.at}.fixtures[${i}].id`, `"${f.id}" is used twice`);
    seen.add(f.id);
  }
}

/** One scheduled sequence: a fixture for a tenant. */
export interface ScheduledTurn {
  readonly fixture: TurnFixture;
  readonly tenantIndex: number;
}

/**
 * A fixed schedule of `length` sequences drawn from the weights with a seeded generator
 * (mulberry32): the same seed gives the same mix in the same order.
 */
export function drawSchedule(corpus: TurnCorpus, tenantCount: number, seed: number, length = 4096): ScheduledTurn[] {
  let state = seed >>> 0;
  const random = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const pick = <T extends { weight: number }>(items: readonly T[]): number => {
    const total = items.reduce((a, i) => a + i.weight, 0);
    let r = random() * total;
    for (const [i, item] of items.entries()) {
      r -= item.weight;
      if (r < 0) return i;
    }
    return items.length - 1;
  };
  const tenants = corpus.tenants.slice(0, tenantCount);
  return Array.from({ length }, () => ({
    fixture: corpus.fixtures[pick(corpus.fixtures)]!,
    tenantIndex: pick(tenants),
  }));
}
