/**
 * The sample inputs an engine's author gives the suite: for each capability,
 * an input the engine serves (an utterance, the arguments of a read, or the
 * fields of an effect). The suite sends them to check Invoke, Simulate and
 * Commit; a capability without a sample has those cases skipped.
 *
 *   { "capabilities": { "reminders.create": { "fields": { "text": "call mom", "when": "+PT2H" } },
 *                       "tools.lookup": { "read": { "query": "capital of Italy" } },
 *                       "nlp.understand": { "utterance": "what time is it" } } }
 */
import { readFileSync } from "node:fs";

/** The sample input of one capability: exactly one of the three. */
export type CapabilitySample =
  | { readonly utterance: string }
  | { readonly read: Readonly<Record<string, string>> }
  | { readonly fields: Readonly<Record<string, string>> };

/** Sample inputs by capability name. */
export interface ConformanceSamples {
  readonly capabilities: Readonly<Record<string, CapabilitySample>>;
}

/** No samples: only the cases that need none run. */
export const NO_SAMPLES: ConformanceSamples = Object.freeze({ capabilities: {} });

/** Thrown for a samples file that does not have the shape above; the message names the place. */
export class SamplesError extends Error {
  override readonly name = "SamplesError";
}

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === "object" && v !== null && !Array.isArray(v);

function stringMap(value: unknown, where: string): Record<string, string> {
  if (!isRecord(value)) throw new SamplesError(`${where}: expected an object of strings`);
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== "string") throw new SamplesError(`${where}.${key}: expected a string`);
  }
  return value as Record<string, string>;
}

/** Checks parsed JSON against the samples shape. */
export function parseSamples(json: unknown, source = "samples"): ConformanceSamples {
  if (!isRecord(json)) throw new SamplesError(`${source}: expected an object`);
  for (const key of Object.keys(json)) {
    if (key !== "capabilities") throw new SamplesError(`${source}: unknown member "${key}"`);
  }
  const capabilities: Record<string, CapabilitySample> = {};
  const raw = json.capabilities ?? {};
  if (!isRecord(raw)) throw new SamplesError(`${source}.capabilities: expected an object`);
  for (const [name, sample] of Object.entries(raw)) {
    const where = `${source}.capabilities["${name}"]`;
    if (!isRecord(sample) || Object.keys(sample).length !== 1) {
      throw new SamplesError(`${where}: expected exactly one of "utterance", "read", "fields"`);
    }
    if (typeof sample.utterance === "string") capabilities[name] = { utterance: sample.utterance };
    else if ("read" in sample) capabilities[name] = { read: stringMap(sample.read, `${where}.read`) };
    else if ("fields" in sample) capabilities[name] = { fields: stringMap(sample.fields, `${where}.fields`) };
    else throw new SamplesError(`${where}: expected exactly one of "utterance", "read", "fields"`);
  }
  return { capabilities };
}

/** Reads a samples file. */
export function readSamples(path: string): ConformanceSamples {
  let json: unknown;
  try {
    json = JSON.parse(readFileSync(path, "utf8"));
  } catch (e) {
    throw new SamplesError(`${path}: ${(e as Error).message}`);
  }
  return parseSamples(json, path);
}
