/**
 * `selenectl replay <correlation-id> [--json]`: a turn's whole decision path
 * from the audit ledger, with the router's decisions re-run on the recorded
 * inputs. Exit 0 when nothing drifted, 1 on drift or when the ledger holds no
 * record of the id, 2 on bad usage or an unreachable ledger.
 */
import { CONNECTION_FLAGS, parseArgs } from "./cli-connection.js";
import { type Command, EXIT } from "./command.js";
import { correlationIdOf, correlationRecords } from "./correlation-records.js";
import { replayJson, replayText } from "./replay-render.js";
import { replayTurns } from "./turn-replay.js";

/** The replay command. */
export const replayCommand: Command = {
  summary: "<correlation-id> [--json]   rebuild a turn's decision path and re-run its decisions",
  async run(argv, io) {
    const args = parseArgs(argv, CONNECTION_FLAGS, ["json"]);
    const correlationId = correlationIdOf(args);
    const records = await correlationRecords(args, correlationId, io, "replay");
    if (typeof records === "number") return records;
    const report = replayTurns(correlationId, records);
    io.out(args.flags.has("json") ? replayJson(report) : replayText(report));
    return report.drift ? EXIT.finding : EXIT.ok;
  },
};
