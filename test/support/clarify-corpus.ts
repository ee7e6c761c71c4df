/** Reads the clarify corpus (test/fixtures/clarify/*.json). */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

/** One case of the corpus. */
export interface ClarifyCase {
  readonly id: string;
  readonly note: string;
  readonly utterance: string;
  readonly locale: string;
  readonly intent: string | null;
  readonly ask: { readonly field: string; readonly question: string; readonly examples: readonly string[] } | null;
}

const DIR = join(import.meta.dirname, "..", "fixtures", "clarify");

/** Every case of the corpus, file by file. */
export function clarifyCorpus(): ClarifyCase[] {
  return readdirSync(DIR)
    .filter((file) => file.endsWith(".json"))
    .sort()
    .flatMap((file) => JSON.parse(readFileSync(join(DIR, file), "utf8")) as ClarifyCase[]);
}
