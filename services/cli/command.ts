/**
 * A selenectl command: its arguments after the command words, where it writes,
 * and the exit code it ends with (0 done, 1 a finding such as a broken chain or
 * replay drift, 2 bad usage or an unreachable service).
 */

/** Where a command writes: results to `out`, progress and errors to `err`. */
export interface CliOutput {
  readonly out: (text: string) => void;
  readonly err: (text: string) => void;
  /** Whether `err` is a terminal (progress lines redraw in place only then). */
  readonly errIsTty: boolean;
}

/** One command. */
export interface Command {
  /** One line for the usage text. */
  readonly summary: string;
  readonly run: (args: readonly string[], io: CliOutput) => Promise<number>;
}

/** Exit codes. */
export const EXIT = Object.freeze({ ok: 0, finding: 1, usage: 2 });

/** Bad usage: the message names the flag or argument at fault. */
export class UsageError extends Error {
  override readonly name = "UsageError";
}
