/** RFC 3339 timestamps with nanosecond precision, as Go's time.RFC3339Nano prints them (UTC). */

/** Formats `epochMs` plus `extraNs` nanoseconds, e.g. "2026-11-24T15:19:23.123456789Z". */
export function rfc3339Nano(epochMs: number, extraNs = 0): string {
  const totalNs = BigInt(Math.floor(epochMs)) * 1_000_000n + BigInt(Math.round((epochMs % 1) * 1e6 + extraNs));
  const ms = Number(totalNs / 1_000_000n);
  const nanos = Number(totalNs % 1_000_000_000n);
  const seconds = new Date(ms).toISOString().slice(0, 19);
  return `${seconds}.${String(nanos).padStart(9, "0")}Z`;
}
