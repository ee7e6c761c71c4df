/**
 * Which certificate each caller presents: the boundary logs a caller's
 * certificate serial the first time it sees it, so the log shows when every
 * peer picked up a rotated certificate (and which are still on an old one).
 * A few serials per caller are remembered, so calls on an old connection and
 * a new one interleaving during a rotation log each serial once.
 */
import type { Logger } from "../logger.js";

/** Serials remembered per caller. */
const REMEMBERED = 4;
/** Callers remembered; past this the oldest is forgotten (a caller is one of a few workloads). */
const MAX_CALLERS = 256;

/** The record of the certificates seen. */
export interface CallerCertificates {
  /** Logs `serial` for `caller` unless it was seen lately. */
  readonly note: (caller: string, serial: string) => void;
}

/** Creates the record; lines go to `logger` as "caller certificate". */
export function createCallerCertificates(logger: Logger): CallerCertificates {
  const seen = new Map<string, string[]>();
  return {
    note(caller, serial) {
      const serials = seen.get(caller);
      if (serials?.includes(serial)) return;
      if (serials === undefined) {
        if (seen.size >= MAX_CALLERS) seen.delete(seen.keys().next().value!);
        seen.set(caller, [serial]);
      } else {
        serials.push(serial);
        if (serials.length > REMEMBERED) serials.shift();
      }
      logger.info({ caller, serial_number: serial }, "caller certificate");
    },
  };
}
