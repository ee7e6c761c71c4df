/**
 * Slot extractor of the time of day (tools.time in policy/nlp-phrases.json), output `timezone`:
 * after the question ("what time is it", "current time"), optionally "now" / "right now" /
 * "today", then optionally "in" and a place from PLACE_TIMEZONES, and nothing else. A place not in
 * the table makes it not match (the utterance then falls to later rules), so no answer is ever
 * given in a guessed zone.
 */
import { matchPhrase, type Token } from "./tokenize-utterance.js";

/** Place names (lower case) and the IANA time zone the `timezone` field carries for them. */
export const PLACE_TIMEZONES: ReadonlyMap<string, string> = new Map([
  ["utc", "UTC"],
  ["gmt", "UTC"],
  ["london", "Europe/London"],
  ["uk", "Europe/London"],
  ["paris", "Europe/Paris"],
  ["france", "Europe/Paris"],
  ["berlin", "Europe/Berlin"],
  ["germany", "Europe/Berlin"],
  ["madrid", "Europe/Madrid"],
  ["moscow", "Europe/Moscow"],
  ["dubai", "Asia/Dubai"],
  ["mumbai", "Asia/Kolkata"],
  ["delhi", "Asia/Kolkata"],
  ["india", "Asia/Kolkata"],
  ["singapore", "Asia/Singapore"],
  ["beijing", "Asia/Shanghai"],
  ["shanghai", "Asia/Shanghai"],
  ["tokyo", "Asia/Tokyo"],
  ["japan", "Asia/Tokyo"],
  ["sydney", "Australia/Sydney"],
  ["new york", "America/New_York"],
  ["nyc", "America/New_York"],
  ["chicago", "America/Chicago"],
  ["denver", "America/Denver"],
  ["los angeles", "America/Los_Angeles"],
  ["san francisco", "America/Los_Angeles"],
  ["sao paulo", "America/Sao_Paulo"],
  ["são paulo", "America/Sao_Paulo"],
]);

const NOW_WORDS = [["right", "now"], ["now"], ["today"]] as const;

/** The time zone of the place asked about, if any; no match when anything else follows. */
export function extractTimeZone(tokens: readonly Token[], start: number): Record<string, string> | undefined {
  let next = start + matchPhrase(tokens, start, NOW_WORDS);
  if (next === tokens.length) return {};
  if (tokens[next]!.key !== "in") return undefined;
  next++;
  const place = tokens
    .slice(next)
    .map((token) => token.key)
    .join(" ");
  const timezone = PLACE_TIMEZONES.get(place.startsWith("the ") ? place.slice(4) : place);
  return timezone === undefined ? undefined : { timezone };
}
