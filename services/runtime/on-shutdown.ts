/**
 * Runs a service's drain once on SIGTERM or SIGINT, then exits: 0 after a clean
 * drain, 1 when it failed. A second signal while draining exits at once.
 */
import type { Logger } from "./logger.js";

/** Registers `drain` for SIGTERM and SIGINT. */
export function onShutdown(logger: Logger, drain: () => Promise<void>): void {
  let draining = false;
  const handle = (signal: NodeJS.Signals) => {
    if (draining) {
      logger.warn({ signal }, "second signal while draining; exiting now");
      process.exit(1);
    }
    draining = true;
    logger.info({ signal }, "draining");
    drain().then(
      () => {
        logger.info("stopped");
        logger.flush();
        process.exitCode = 0;
        setImmediate(() => process.exit(0));
      },
      (err: unknown) => {
        logger.error({ err }, "drain failed");
        logger.flush();
        setImmediate(() => process.exit(1));
      },
    );
  };
  process.on("SIGTERM", handle);
  process.on("SIGINT", handle);
}
