/**
 * Matcher of tools.time: "what time is it", "what's the date today", "current time in Tokyo".
 * A question head, then optionally "now" / "right now" / "today", then optionally "in" and a
 * place from PLACE_TIMEZONES, and nothing else. A place not in the table makes the rule not
 * match (the utterance then falls to later rules), so no answer is ever given in a guessed zone.
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

// Longest heads first, so "what time is it" wins over "time".
const HEADS = [
  ["what", "is", "the", "current", "time"],
  ["what's", "the", "current", "time"],
  ["whats", "the", "current", "time"],
  ["what", "is", "the", "time"],
  ["what", "is", "the", "date"],
  ["what", "is", "today's", "date"],
  ["what", "time", "is", "it"],
  ["what", "day", "is", "it"],
  ["what", "date", "is", "it"],
  ["tell", "me", "the", "time"],
  ["what's", "the", "time"],
  ["what's", "the", "date"],
  ["what's", "today's", "date"],
  ["whats", "the", "time"],
  ["whats", "the", "date"],
  ["whats", "todays", "date"],
  ["current", "time"],
  ["time"],
] as const;
const NOW_WORDS = [["right", "now"], ["now"], ["today"]] as const;

/** Matches tools.time; optional field `timezone`. */
export function matchTime(tokens: readonly Token[]): Record<string, string> | undefined {
  const head = matchPhrase(tokens, 0, HEADS);
  if (head === 0) return undefined;
  let next = head + matchPhrase(tokens, head, NOW_WORDS);
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
