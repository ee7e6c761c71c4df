/**
 * The built-in knowledge base's data: three named sources, each a fixed snapshot with a trust
 * rank, and the facts they claim. Some sources disagree on purpose, so the conflict rule runs on
 * real data: Mount Everest and the Amazon (trust decides), Mont Blanc (equal trust: freshness
 * decides). Values are illustrative snapshots, not an authority.
 */

/** A knowledge source: a snapshot with a trust rank. */
export interface KnowledgeSource {
  /** Stable id, such as "kb:atlas". */
  readonly id: string;
  /** A citation of the snapshot. */
  readonly uri: string;
  /** Trust rank, 0..100. */
  readonly trust: number;
  /** When the snapshot was taken, in epoch milliseconds. */
  readonly retrievedAtMs: number;
}

/** One fact: the questions it answers and what each source claims. */
export interface KnowledgeFact {
  /** Stable id, also the conflict field name, such as "mount_everest.height_m". */
  readonly id: string;
  /** Phrases that ask for the fact, normalised by normalizeLookupQuery before use. */
  readonly asks: readonly string[];
  /** The answer text; "{value}" is replaced by the kept value. */
  readonly answer: string;
  /** How long after its snapshot the kept value counts as fresh, in days. */
  readonly maxAgeDays: number;
  /** Claimed value per source id. */
  readonly claims: Readonly<Record<string, string>>;
}

const DAY_MS = 86_400_000;

/** The sources of the knowledge base, by id. */
export const KB_SOURCES: ReadonlyMap<string, KnowledgeSource> = new Map(
  [
    { id: "kb:atlas", uri: "selene:kb/atlas#2024-03-01", trust: 90, retrievedAtMs: Date.UTC(2024, 2, 1) },
    { id: "kb:almanac", uri: "selene:kb/almanac#2023-06-01", trust: 70, retrievedAtMs: Date.UTC(2023, 5, 1) },
    { id: "kb:gazetteer", uri: "selene:kb/gazetteer#2024-09-30", trust: 70, retrievedAtMs: Date.UTC(2024, 8, 30) },
  ].map((source) => [source.id, source] as const),
);

/** Days after which a value of each kind turns stale. */
const CAPITAL_DAYS = 3650;
const WORK_DAYS = 36500;
const SURVEY_DAYS = 730;

function capital(country: string, city: string, sources: readonly string[]): KnowledgeFact {
  return {
    id: `${country.toLowerCase().replaceAll(" ", "_")}.capital`,
    asks: [`capital of ${country}`, `${country} capital`],
    answer: `The capital of ${country} is {value}.`,
    maxAgeDays: CAPITAL_DAYS,
    claims: Object.fromEntries(sources.map((source) => [source, city])),
  };
}

function author(id: string, titles: readonly string[], name: string): KnowledgeFact {
  return {
    id: `${id}.author`,
    asks: titles.map((title) => `author of ${title}`),
    answer: `${titles[0]} was written by {value}.`,
    maxAgeDays: WORK_DAYS,
    claims: { "kb:almanac": name },
  };
}

function height(id: string, names: readonly string[], claims: Record<string, string>): KnowledgeFact {
  return {
    id: `${id}.height_m`,
    asks: names.map((name) => `height of ${name}`),
    answer: `${names[0]} is {value} m high.`,
    maxAgeDays: SURVEY_DAYS,
    claims,
  };
}

/** The facts of the knowledge base. */
export const KB_FACTS: readonly KnowledgeFact[] = [
  capital("France", "Paris", ["kb:atlas", "kb:almanac"]),
  capital("Japan", "Tokyo", ["kb:atlas"]),
  capital("Italy", "Rome", ["kb:almanac"]),
  capital("Germany", "Berlin", ["kb:atlas"]),
  capital("Canada", "Ottawa", ["kb:atlas", "kb:gazetteer"]),
  capital("Australia", "Canberra", ["kb:atlas"]),
  capital("Brazil", "Brasília", ["kb:gazetteer"]),
  capital("Kenya", "Nairobi", ["kb:almanac"]),
  capital("Spain", "Madrid", ["kb:atlas"]),
  author("hamlet", ["Hamlet"], "William Shakespeare"),
  author("pride_and_prejudice", ["Pride and Prejudice"], "Jane Austen"),
  author("nineteen_eighty_four", ["Nineteen Eighty-Four", "1984"], "George Orwell"),
  author("don_quixote", ["Don Quixote"], "Miguel de Cervantes"),
  author("war_and_peace", ["War and Peace"], "Leo Tolstoy"),
  // Trust decides: the atlas (90) over the almanac (70).
  height("mount_everest", ["Mount Everest", "Everest"], { "kb:atlas": "8849", "kb:almanac": "8848" }),
  height("k2", ["K2"], { "kb:atlas": "8611" }),
  // Equal trust (70): the fresher gazetteer (2024-09-30) over the almanac (2023-06-01).
  height("mont_blanc", ["Mont Blanc"], { "kb:almanac": "4808", "kb:gazetteer": "4806" }),
  height("kilimanjaro", ["Kilimanjaro", "Mount Kilimanjaro"], { "kb:almanac": "5895", "kb:gazetteer": "5895" }),
  height("denali", ["Denali"], { "kb:atlas": "6190" }),
  {
    id: "nile.length_km",
    asks: ["length of the Nile", "length of the Nile river"],
    answer: "The Nile is {value} km long.",
    maxAgeDays: SURVEY_DAYS,
    claims: { "kb:almanac": "6650" },
  },
  {
    // Trust decides against two agreeing, less trusted sources.
    id: "amazon.length_km",
    asks: ["length of the Amazon", "length of the Amazon river"],
    answer: "The Amazon is {value} km long.",
    maxAgeDays: SURVEY_DAYS,
    claims: { "kb:atlas": "6400", "kb:almanac": "6992", "kb:gazetteer": "6992" },
  },
  {
    id: "light.speed_m_s",
    asks: ["speed of light"],
    answer: "The speed of light in vacuum is {value} m/s.",
    maxAgeDays: WORK_DAYS,
    claims: { "kb:atlas": "299792458" },
  },
  {
    id: "mona_lisa.painter",
    asks: ["painter of the Mona Lisa"],
    answer: "The Mona Lisa was painted by {value}.",
    maxAgeDays: WORK_DAYS,
    claims: { "kb:almanac": "Leonardo da Vinci" },
  },
];

/** Converts a fact's freshness window to milliseconds. */
export function maxAgeMs(fact: KnowledgeFact): number {
  return fact.maxAgeDays * DAY_MS;
}
