/**
 * The clock (tools.time): the current time in a time zone, read from the instant the caller
 * passes, formatted by Intl with the fixed locale "en-GB" and a 24-hour clock, so one instant
 * and one zone always give the same text. The result is computed, hence LIVE.
 */
import type { ReadResult } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { buildReadResult } from "./provenance.js";
import { ToolError } from "./tool-error.js";

/** The zone used when the caller names none. */
export const DEFAULT_TIMEZONE = "UTC";

/** The source id of clock readings. */
export const CLOCK_SOURCE_ID = "clock:system";

const LOCALE = "en-GB";
const MAX_TIMEZONE_LENGTH = 64;
const MINUTE_MS = 60_000;

// One formatter per valid zone (keyed in lower case): a closed set, so the cache stays bounded.
const formats = new Map<string, Intl.DateTimeFormat>();

/** Reads the time of `now` in a time zone (default UTC) as a ReadResult from clock:system. */
export function currentTime(timezone: string | undefined, now: Date): ReadResult {
  const nowMs = now.getTime();
  if (!Number.isFinite(nowMs)) throw new RangeError("now is not a valid date");
  // The zone is reported as requested: ICU's own names vary between versions ("Asia/Calcutta").
  const zone = timezone === undefined || timezone === "" ? DEFAULT_TIMEZONE : timezone;
  const parts = partsOf(zoneFormat(zone), now);
  const localMs = Date.UTC(
    Number(parts.year),
    Number(parts.monthNumber) - 1,
    Number(parts.day),
    Number(parts.hour),
    Number(parts.minute),
    Number(parts.second),
  );
  const offset = formatOffset(Math.round((localMs - Math.floor(nowMs / 1000) * 1000) / MINUTE_MS));
  const date = `${parts.year}-${parts.monthNumber}-${parts.day.padStart(2, "0")}`;
  const iso = `${date}T${parts.hour}:${parts.minute}:${parts.second}${offset}`;
  const utc = now.toISOString();
  return buildReadResult({
    text: `It is ${parts.hour}:${parts.minute} on ${parts.weekday} ${Number(parts.day)} ${parts.month} ${parts.year} in ${zone} (UTC${offset}).`,
    data: { iso, utc, timezone: zone, utc_offset: offset },
    sources: [{ id: CLOCK_SOURCE_ID, trust: 100, retrievedAtMs: nowMs, content: { utc } }],
    retrievedAtMs: nowMs,
    freshness: { kind: "live" },
    nowMs,
  });
}

function zoneFormat(requested: string): Intl.DateTimeFormat {
  // Zone names are case-insensitive: one cache entry per zone, whatever the spelling.
  const cacheKey = requested.toLowerCase();
  const cached = formats.get(cacheKey);
  if (cached !== undefined) return cached;
  if (requested.length > MAX_TIMEZONE_LENGTH) throw unknownZone();
  let format: Intl.DateTimeFormat;
  try {
    format = new Intl.DateTimeFormat(LOCALE, {
      timeZone: requested,
      weekday: "long",
      year: "numeric",
      month: "long",
      day: "numeric",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
      hourCycle: "h23",
    });
  } catch {
    throw unknownZone();
  }
  formats.set(cacheKey, format);
  return format;
}

function unknownZone(): ToolError {
  return new ToolError("UNKNOWN_TIMEZONE", "timezone", "unknown time zone");
}

const MONTHS = [
  "January",
  "February",
  "March",
  "April",
  "May",
  "June",
  "July",
  "August",
  "September",
  "October",
  "November",
  "December",
];

function partsOf(format: Intl.DateTimeFormat, now: Date) {
  const byType = new Map(format.formatToParts(now).map((part) => [part.type, part.value] as const));
  const month = byType.get("month") ?? "";
  const monthIndex = MONTHS.indexOf(month);
  if (monthIndex < 0) throw new Error(`unexpected month name from Intl: ${month}`);
  return {
    weekday: byType.get("weekday") ?? "",
    day: byType.get("day") ?? "",
    month,
    monthNumber: String(monthIndex + 1).padStart(2, "0"),
    year: byType.get("year") ?? "",
    hour: byType.get("hour") ?? "",
    minute: byType.get("minute") ?? "",
    second: byType.get("second") ?? "",
  };
}

function formatOffset(minutes: number): string {
  const sign = minutes < 0 ? "-" : "+";
  const abs = Math.abs(minutes);
  return `${sign}${String(Math.floor(abs / 60)).padStart(2, "0")}:${String(abs % 60).padStart(2, "0")}`;
}
