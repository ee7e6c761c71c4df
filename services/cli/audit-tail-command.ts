/**
 * `selenectl audit tail [--tenant T] [--limit N] [--from-start]`: prints new
 * audit records as they are appended, one line each, until interrupted (or
 * until N records were printed).
 */
import type { AuditRecord } from "../../gen/es/selene/audit/v1/audit_pb.js";
import { Decision, Gate } from "../../gen/es/selene/audit/v1/audit_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { SeleneError } from "../runtime/selene-error.js";
import { chainHeads, recordPages } from "./audit-pages.js";
import { CONNECTION_FLAGS, connectAudit, parseArgs } from "./cli-connection.js";
import { type Command, EXIT, UsageError } from "./command.js";

const CORRELATION = "selenectl-audit-tail";
const POLL_MS = 500;

/** One record as a line. */
export function recordLine(r: AuditRecord): string {
  const e = r.event!;
  const reason = e.reason === 0 ? "" : ` ${ReasonCode[e.reason] ?? e.reason}`;
  return `${r.tenantId} #${r.sequence} ${r.correlationId} ${Gate[e.gate] ?? e.gate} ${Decision[e.decision] ?? e.decision}${reason}`;
}

/** The tail command. */
export const auditTailCommand: Command = {
  summary: "[--tenant T] [--limit N] [--from-start]   follow new audit records",
  async run(argv, io) {
    const args = parseArgs(argv, [...CONNECTION_FLAGS, "tenant", "limit"], ["from-start"]);
    if (args.words.length > 0) throw new UsageError(`unexpected argument "${args.words[0]}"`);
    const limitFlag = args.flags.get("limit") as string | undefined;
    const limit = limitFlag === undefined ? Number.POSITIVE_INFINITY : Number(limitFlag);
    if (!(limit > 0) || !Number.isInteger(limit === Number.POSITIVE_INFINITY ? 1 : limit)) {
      throw new UsageError("--limit must be a positive integer");
    }
    const only = args.flags.get("tenant") as string | undefined;
    const audit = connectAudit(args);
    let stopped = false;
    const stop = () => {
      stopped = true;
    };
    process.once("SIGINT", stop);
    try {
      const positions = new Map<string, bigint>();
      let printed = 0;
      let first = true;
      while (!stopped && printed < limit) {
        for await (const chain of chainHeads(audit, CORRELATION)) {
          if (only !== undefined && chain.tenantId !== only) continue;
          if (!positions.has(chain.tenantId)) {
            positions.set(chain.tenantId, first && !args.flags.has("from-start") ? chain.sequence : 0n);
          }
          const after = positions.get(chain.tenantId)!;
          if (after >= chain.sequence || printed >= limit) continue;
          for await (const records of recordPages(
            audit,
            { tenantId: chain.tenantId, afterSequence: after },
            CORRELATION,
          )) {
            for (const record of records) {
              if (printed >= limit) break;
              io.out(recordLine(record));
              printed += 1;
              positions.set(chain.tenantId, record.sequence);
            }
            if (printed >= limit) break;
          }
        }
        first = false;
        if (printed < limit && !stopped) await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
      return EXIT.ok;
    } catch (e) {
      io.err(`selenectl audit tail: ${e instanceof SeleneError ? e.message : String(e)}`);
      return EXIT.usage;
    } finally {
      process.removeListener("SIGINT", stop);
      audit.close();
    }
  },
};
