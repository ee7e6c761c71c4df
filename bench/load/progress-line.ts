/** The live progress line of a load run: one line a second, rewritten in place on a terminal. */
import type { LoadProgress } from "./load-runner.js";

/** Formats one progress line. */
export function progressText(p: LoadProgress, plannedMs: number | undefined): string {
  const elapsed = (p.elapsedMs / 1000).toFixed(0);
  const of = plannedMs === undefined ? "" : `/${(plannedMs / 1000).toFixed(0)}`;
  const pct = (ns: number) => `${(ns / 1e6).toFixed(1)}ms`;
  return (
    `  ${elapsed}${of}s  ${p.calls} calls  ${p.errors} errors  ${p.recentRps}/s  ` +
    `p50 ${pct(p.recentP50Ns)}  p99 ${pct(p.recentP99Ns)}`
  );
}

/** A writer of progress lines to `stream`: in place on a TTY, otherwise one line every `everyS` seconds. */
export function progressWriter(stream: NodeJS.WriteStream, everyS = 5): { tick(line: string): void; end(): void } {
  let ticks = 0;
  let open = false;
  return {
    tick(line) {
      ticks++;
      if (stream.isTTY) {
        stream.write(`\r${line.padEnd(90)}`);
        open = true;
      } else if (ticks % everyS === 0) {
        stream.write(`${line}\n`);
      }
    },
    end() {
      if (open) stream.write("\n");
      open = false;
    },
  };
}
