/**
 * A progress line for long scans, on stderr: redrawn in place on a terminal,
 * one line per step otherwise (so logs of a CI job stay readable), at most a
 * few times a second either way.
 */
import type { CliOutput } from "./command.js";

/** Reports progress; `done` ends the line. */
export interface ProgressLine {
  update(text: string): void;
  done(): void;
}

/** Creates a progress line writing to `io.err`. */
export function progressLine(io: CliOutput, intervalMs = 250): ProgressLine {
  let last = 0;
  let shown = false;
  return {
    update(text) {
      const now = Date.now();
      if (now - last < intervalMs) return;
      last = now;
      shown = true;
      if (io.errIsTty) process.stderr.write(`\r\u001b[2K${text}`);
      else io.err(text);
    },
    done() {
      if (shown && io.errIsTty) process.stderr.write("\n");
    },
  };
}
