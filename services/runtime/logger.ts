/**
 * The one pino root logger of a process. Modules take `logger.child({ component })`;
 * messages are constant strings and data travels in fields (correlation_id,
 * tenant_id, reason, rpc.method). Logs go to stderr as JSON lines.
 */
import { type Logger, pino } from "pino";

export type { Logger } from "pino";

/** Creates the root logger of a service. */
export function createLogger(service: string, level = "info"): Logger {
  return pino({ level, base: { service }, messageKey: "msg" }, pino.destination({ dest: 2, sync: false }));
}
