/**
 * `selenectl provenance verify <correlation-id> [--json]`: recomputes the digests of a correlation
 * id's recorded answers from the audit ledger (provenance-verify.ts). Exit 0 when every digest
 * matches, 1 on a mismatch or when the ledger holds no recorded answer of the id, 2 on bad usage
 * or an unreachable ledger.
 */
import { canonicalJson } from "../runtime/content-digest.js";
import { CONNECTION_FLAGS, parseArgs } from "./cli-connection.js";
import { type Command, EXIT } from "./command.js";
import { correlationIdOf, correlationRecords } from "./correlation-records.js";
import { provenanceText, verifyProvenance } from "./provenance-verify.js";

/** The provenance verify command. */
export const provenanceVerifyCommand: Command = {
  summary: "<correlation-id> [--json]   recompute the content digests of recorded answers",
  async run(argv, io) {
    const args = parseArgs(argv, CONNECTION_FLAGS, ["json"]);
    const correlationId = correlationIdOf(args);
    const records = await correlationRecords(args, correlationId, io, "provenance verify");
    if (typeof records === "number") return records;
    const report = verifyProvenance(correlationId, records);
    io.out(args.flags.has("json") ? canonicalJson(report) : provenanceText(report));
    if (report.answers.length === 0) {
      io.err(`selenectl provenance verify: correlation id ${correlationId} has no recorded answer`);
      return EXIT.finding;
    }
    return report.mismatch ? EXIT.finding : EXIT.ok;
  },
};
