/**
 * Fault injection for the crash tests: when the router is started with
 * SELENE_CRASH_AT naming a point on the commit path, it kills itself with
 * SIGKILL on reaching it, the way a power cut would. Off in production.
 */

/** The points on the commit path where a test may crash the router. */
export const CRASH_POINTS = ["before-enqueue", "after-enqueue", "while-leased", "after-commit"] as const;

/** One of CRASH_POINTS. */
export type CrashPoint = (typeof CRASH_POINTS)[number];

/** A function to call at each point; it dies at the armed one. */
export type CrashHook = (point: CrashPoint) => void;

/** The hook for `armed` (undefined: never crash). */
export function crashHook(armed: CrashPoint | undefined): CrashHook {
  if (armed === undefined) return () => {};
  return (point) => {
    if (point === armed) process.kill(process.pid, "SIGKILL");
  };
}
