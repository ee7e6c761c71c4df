/**
 * Slot extractors of unit conversions (tools.convert in policy/nlp-phrases.json), outputs `value`,
 * `from_unit`, `to_unit`; V is a number or "a"/"an"/"one", U a unit word:
 *   conversion           [V] [U] [("to" | "into" | "in") U]      always matches: "convert 5 km"
 *   conversion_question  U ["is" | "are" | "in" | "make" | "there"]* [V] [U]   to the end ("how many ...")
 *   exact_conversion     V U ("to" | "in" | "into") U            to the end, all three, else no match
 * Units are normalised to the ids of UNIT_ALIASES (the ids the tools engine accepts); a number
 * and a unit may be written together ("5km", "-40°F"). Values are canonical decimal strings.
 */
import { canonicalDecimal } from "../../runtime/canonical-decimal.js";
import type { Token } from "./tokenize-utterance.js";

const LENGTH: Record<string, readonly string[]> = {
  m: ["m", "meter", "meters", "metre", "metres"],
  km: ["km", "kms", "kilometer", "kilometers", "kilometre", "kilometres"],
  cm: ["cm", "centimeter", "centimeters", "centimetre", "centimetres"],
  mi: ["mi", "mile", "miles"],
  ft: ["ft", "foot", "feet"],
  in: ["in", "inch", "inches"],
};
const MASS: Record<string, readonly string[]> = {
  kg: ["kg", "kgs", "kilo", "kilos", "kilogram", "kilograms", "kilogramme", "kilogrammes"],
  g: ["g", "gram", "grams", "gramme", "grammes"],
  lb: ["lb", "lbs", "pound", "pounds"],
  oz: ["oz", "ounce", "ounces"],
};
const TEMPERATURE: Record<string, readonly string[]> = {
  c: ["c", "°c", "celsius", "centigrade"],
  f: ["f", "°f", "fahrenheit"],
  k: ["k", "kelvin", "kelvins"],
};
const VOLUME: Record<string, readonly string[]> = {
  l: ["l", "liter", "liters", "litre", "litres"],
  ml: ["ml", "milliliter", "milliliters", "millilitre", "millilitres"],
  gal: ["gal", "gallon", "gallons"],
};

/** Unit words (lower case) and the unit id they normalise to. */
export const UNIT_ALIASES: ReadonlyMap<string, string> = new Map(
  [LENGTH, MASS, TEMPERATURE, VOLUME].flatMap((table) =>
    Object.entries(table).flatMap(([id, words]) => words.map((word) => [word, id] as const)),
  ),
);

const DEGREES = new Set(["degree", "degrees"]);
const TO_WORDS = new Set(["to", "into", "in"]);
const HOW_MANY_LINKS = new Set(["is", "are", "in", "make", "there"]);
const ONE_WORDS = new Set(["a", "an", "one"]);
// Bounded digit runs and disjoint classes: linear to match.
const NUMBER = /^[-+]?\d{1,15}(?:\.\d{1,10})?$/;
const NUMBER_WITH_UNIT = /^([-+]?\d{1,15}(?:\.\d{1,10})?)(°?[a-z]{1,12})$/;

interface Parsed {
  readonly value: string;
  readonly next: number;
}

interface ParsedValue extends Parsed {
  /** The unit id written together with the number, if any. */
  readonly unit: string | undefined;
}

/** Reads "<value> [<unit>]" (or just "<unit>") from `start` into `fields`; returns the next index. */
function readValueAndSource(tokens: readonly Token[], start: number, fields: Record<string, string>): number {
  let next = start;
  const value = parseValue(tokens, next, true);
  if (value !== undefined) {
    fields.value = value.value;
    if (value.unit !== undefined) fields.from_unit = value.unit;
    next = value.next;
  }
  if (fields.from_unit === undefined) {
    const from = parseUnit(tokens, next);
    if (from !== undefined) {
      fields.from_unit = from.value;
      next = from.next;
    }
  }
  return next;
}

/** Whatever of value, source unit and "to" target unit the rest holds; always matches. */
export function extractConversion(tokens: readonly Token[], start: number): Record<string, string> {
  const fields: Record<string, string> = {};
  const next = readValueAndSource(tokens, start, fields);
  if (TO_WORDS.has(tokens[next]?.key ?? "")) {
    const to = parseUnit(tokens, next + 1);
    if (to !== undefined) fields.to_unit = to.value;
  }
  return fields;
}

/** The target unit, then optionally a value and a source unit, to the end; else no match. */
export function extractConversionQuestion(tokens: readonly Token[], start: number): Record<string, string> | undefined {
  const to = parseUnit(tokens, start);
  if (to === undefined) return undefined;
  const fields: Record<string, string> = { to_unit: to.value };
  let next = to.next;
  while (HOW_MANY_LINKS.has(tokens[next]?.key ?? "")) next++;
  next = readValueAndSource(tokens, next, fields);
  return next === tokens.length ? fields : undefined;
}

/** A value, its unit and the target unit, to the end; else no match. */
export function extractExactConversion(tokens: readonly Token[], start: number): Record<string, string> | undefined {
  const value = parseValue(tokens, start, false);
  if (value === undefined) return undefined;
  let next = value.next;
  let fromUnit = value.unit;
  if (fromUnit === undefined) {
    const from = parseUnit(tokens, next);
    if (from === undefined) return undefined;
    fromUnit = from.value;
    next = from.next;
  }
  if (!TO_WORDS.has(tokens[next]?.key ?? "")) return undefined;
  const to = parseUnit(tokens, next + 1);
  if (to === undefined || to.next !== tokens.length) return undefined;
  return { value: value.value, from_unit: fromUnit, to_unit: to.value };
}

function parseValue(tokens: readonly Token[], i: number, allowWords: boolean): ParsedValue | undefined {
  const key = tokens[i]?.key;
  if (key === undefined) return undefined;
  if (allowWords && ONE_WORDS.has(key)) return { value: "1", unit: undefined, next: i + 1 };
  if (NUMBER.test(key)) return { value: canonicalDecimal(key), unit: undefined, next: i + 1 };
  const joined = NUMBER_WITH_UNIT.exec(key);
  const unit = joined === null ? undefined : UNIT_ALIASES.get(joined[2]!);
  if (joined === null || unit === undefined) return undefined;
  return { value: canonicalDecimal(joined[1]!), unit, next: i + 1 };
}

function parseUnit(tokens: readonly Token[], i: number): Parsed | undefined {
  const key = tokens[i]?.key;
  if (key === undefined) return undefined;
  if (DEGREES.has(key)) {
    const after = tokens[i + 1]?.key;
    const id = after === undefined ? undefined : UNIT_ALIASES.get(after);
    return id !== undefined && TEMPERATURE[id] !== undefined ? { value: id, next: i + 2 } : undefined;
  }
  const id = UNIT_ALIASES.get(key);
  return id === undefined ? undefined : { value: id, next: i + 1 };
}
