/**
 * `selenectl replay <correlation-id> [--json]`: a turn's whole decision path
 * from the audit ledger, with the router's decisions re-run on the recorded
 * inputs. Exit 0 when nothing drifted, 1 on drift or when the ledger holds no
 * record of the id, 2 on bad usage or an unreachable ledger.
 */
import type { AuditRecord } from "../../gen/es/selene/audit/v1/audit_pb.js";
import { SeleneError } from "../runtime/selene-error.js";
import { recordPages } from "./audit-pages.js";
import { CONNECTION_FLAGS, connectAudit, parseArgs } from "./cli-connection.js";
import { type Command, EXIT, UsageError } from "./command.js";
import { replayJson, replayText } from "./replay-render.js";
import { replayTurns } from "./turn-replay.js";

const CORRELATION = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The replay command. */
export const replayCommand: Command = {
  summary: "<correlation-id> [--json]   rebuild a turn's decision path and re-run its decisions",
  async run(argv, io) {
    const args = parseArgs(argv, CONNECTION_FLAGS, ["json"]);
    const [correlationId, extra] = args.words;
    if (correlationId === undefined || extra !== undefined) throw new UsageError("give exactly one correlation id");
    if (!CORRELATION.test(correlationId)) throw new UsageError(`"${correlationId}" is not a correlation id`);
    const audit = connectAudit(args);
    const records: AuditRecord[] = [];
    try {
      for await (const page of recordPages(audit, { correlationId }, correlationId)) records.push(...page);
    } catch (e) {
      io.err(`selenectl replay: ${e instanceof SeleneError ? e.message : String(e)}`);
      return EXIT.usage;
    } finally {
      audit.close();
    }
    if (records.length === 0) {
      io.err(`selenectl replay: the ledger holds no record of correlation id ${correlationId}`);
      return EXIT.finding;
    }
    const report = replayTurns(correlationId, records);
    io.out(args.flags.has("json") ? replayJson(report) : replayText(report));
    return report.drift ? EXIT.finding : EXIT.ok;
  },
};
