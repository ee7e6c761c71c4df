/**
 * The `when` grammar of reminders: a small, closed set of time expressions, each normalised to
 * one canonical string. Parsing works on token keys (lower case, no edge punctuation):
 *
 *   when     := ["for"] core
 *   core     := "in" amount unit          -> "+PT20M" | "+PT2H" | "+P3D" | "+P1W"
 *             | "in" "half" "an" "hour"   -> "+PT30M"
 *             | day [clock]               -> "tomorrow" | "tomorrow 17:00" | "monday 09:30"
 *             | clock [day]               -> "17:00"    | "tomorrow 17:00"
 *   day      := "today" | "tomorrow" | "tonight" | ["on"] weekday
 *   clock    := ["at"] ("noon" | "midnight")
 *             | "at" H[:MM] [am|pm]       (a bare hour needs "at": "at 5" -> "05:00")
 *             | H[:MM]am|pm | H[:MM] am|pm | H:MM
 *   amount   := 1..9999 | "a" | "an" | "one" .. "twelve"
 *   unit     := minute(s) | min(s) | hour(s) | hr(s) | day(s) | week(s)
 *
 * With am/pm the hour is 1-12; without, it is read on a 24-hour clock (0-23). "tonight" means
 * "today", defaults to 20:00 and reads a bare hour 1-11 as pm. Relative times are ISO 8601
 * durations prefixed with "+"; clock times are "HH:MM".
 */

/** The longest time expression in tokens; longer inputs never parse. */
export const MAX_TIME_TOKENS = 6;

/** A time expression found inside a longer list of keys. */
export interface TimeMatch {
  /** The normalised expression, such as "tomorrow 17:00". */
  readonly when: string;
  /** Index of the first key of the expression. */
  readonly start: number;
  /** Index just past the last key of the expression. */
  readonly end: number;
}

interface Step {
  readonly value: string;
  readonly next: number;
}

interface DayStep extends Step {
  readonly evening: boolean;
}

const WEEKDAYS = new Set(["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]);
const NUMBER_WORDS: ReadonlyMap<string, number> = new Map([
  ["a", 1],
  ["an", 1],
  ["one", 1],
  ["two", 2],
  ["three", 3],
  ["four", 4],
  ["five", 5],
  ["six", 6],
  ["seven", 7],
  ["eight", 8],
  ["nine", 9],
  ["ten", 10],
  ["eleven", 11],
  ["twelve", 12],
]);
// Unit word -> [ISO 8601 designator, whether it belongs after "T"].
const UNITS: ReadonlyMap<string, readonly [string, boolean]> = new Map([
  ["minute", ["M", true]],
  ["minutes", ["M", true]],
  ["min", ["M", true]],
  ["mins", ["M", true]],
  ["hour", ["H", true]],
  ["hours", ["H", true]],
  ["hr", ["H", true]],
  ["hrs", ["H", true]],
  ["day", ["D", false]],
  ["days", ["D", false]],
  ["week", ["W", false]],
  ["weeks", ["W", false]],
]);
const MERIDIEMS = new Set(["am", "pm"]);
// Bounded repetitions and disjoint classes only: no backtracking blow-up.
const CLOCK_WORD = /^(\d{1,2})(?::([0-5]\d))?(a\.?m\.?|p\.?m\.?)?$/;
const EVENING_DEFAULT = "20:00";

/** Parses keys that are exactly one time expression, or returns undefined. */
export function parseTimeExpression(keys: readonly string[]): string | undefined {
  if (keys.length === 0 || keys.length > MAX_TIME_TOKENS) return undefined;
  const start = keys[0] === "for" ? 1 : 0;
  const relative = parseRelative(keys, start);
  if (relative !== undefined) return relative.next === keys.length ? relative.value : undefined;
  const day = parseDay(keys, start);
  if (day !== undefined) {
    if (day.next === keys.length) return day.evening ? `${day.value} ${EVENING_DEFAULT}` : day.value;
    const clock = parseClock(keys, day.next, day.evening);
    return clock?.next === keys.length ? `${day.value} ${clock.value}` : undefined;
  }
  const clock = parseClock(keys, start, false);
  if (clock === undefined) return undefined;
  if (clock.next === keys.length) return clock.value;
  const after = parseDay(keys, clock.next);
  if (after?.next !== keys.length) return undefined;
  // "at 9 tonight": read the clock again with the evening default.
  const value = after.evening ? parseClock(keys, start, true)!.value : clock.value;
  return `${after.value} ${value}`;
}

/** Finds the longest time expression that ends the keys, or undefined. */
export function findTimeSuffix(keys: readonly string[]): TimeMatch | undefined {
  for (let start = Math.max(0, keys.length - MAX_TIME_TOKENS); start < keys.length; start++) {
    const when = parseTimeExpression(keys.slice(start));
    if (when !== undefined) return { when, start, end: keys.length };
  }
  return undefined;
}

/** Finds the longest time expression that starts at `start`, or undefined. */
export function findTimePrefix(keys: readonly string[], start: number): TimeMatch | undefined {
  for (let end = Math.min(keys.length, start + MAX_TIME_TOKENS); end > start; end--) {
    const when = parseTimeExpression(keys.slice(start, end));
    if (when !== undefined) return { when, start, end };
  }
  return undefined;
}

function parseRelative(keys: readonly string[], i: number): Step | undefined {
  if (keys[i] !== "in") return undefined;
  if (keys[i + 1] === "half" && keys[i + 2] === "an" && keys[i + 3] === "hour") return { value: "+PT30M", next: i + 4 };
  const amount = parseAmount(keys[i + 1]);
  const unit = UNITS.get(keys[i + 2] ?? "");
  if (amount === undefined || unit === undefined) return undefined;
  const [designator, timePart] = unit;
  return { value: `+P${timePart ? "T" : ""}${amount}${designator}`, next: i + 3 };
}

function parseAmount(key: string | undefined): number | undefined {
  if (key === undefined) return undefined;
  if (/^\d{1,4}$/.test(key)) {
    const n = Number(key);
    return n > 0 ? n : undefined;
  }
  return NUMBER_WORDS.get(key);
}

function parseDay(keys: readonly string[], i: number): DayStep | undefined {
  const key = keys[i];
  if (key === "on") {
    const weekday = keys[i + 1];
    return weekday !== undefined && WEEKDAYS.has(weekday) ? { value: weekday, next: i + 2, evening: false } : undefined;
  }
  if (key === "today" || key === "tomorrow") return { value: key, next: i + 1, evening: false };
  if (key === "tonight") return { value: "today", next: i + 1, evening: true };
  if (key !== undefined && WEEKDAYS.has(key)) return { value: key, next: i + 1, evening: false };
  return undefined;
}

function parseClock(keys: readonly string[], i: number, evening: boolean): Step | undefined {
  const hasAt = keys[i] === "at";
  const at = hasAt ? i + 1 : i;
  const word = keys[at];
  if (word === "noon") return { value: "12:00", next: at + 1 };
  if (word === "midnight") return { value: "00:00", next: at + 1 };
  const match = word === undefined ? null : CLOCK_WORD.exec(word);
  if (match === null) return undefined;
  let next = at + 1;
  let meridiem = match[3]?.replaceAll(".", "");
  const following = keys[next]?.replaceAll(".", "");
  if (meridiem === undefined && following !== undefined && MERIDIEMS.has(following)) {
    meridiem = following;
    next++;
  }
  const minutesText = match[2];
  // A bare number ("5") is only a time after "at": otherwise "call 5 people" would parse.
  if (!hasAt && meridiem === undefined && minutesText === undefined) return undefined;
  let hour = Number(match[1]);
  const minute = minutesText === undefined ? 0 : Number(minutesText);
  if (meridiem !== undefined) {
    if (hour < 1 || hour > 12) return undefined;
    hour = (hour % 12) + (meridiem === "pm" ? 12 : 0);
  } else {
    if (hour > 23) return undefined;
    if (evening && hour >= 1 && hour <= 11) hour += 12;
  }
  return { value: `${pad(hour)}:${pad(minute)}`, next };
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}
