/**
 * `selenectl audit verify [--tenant T]`: recomputes every link of every chain
 * (or one tenant's) here, from records read page by page, trusting neither
 * the ledger's server nor its triggers; names the first bad record. Exit 0
 * when every chain is intact, 1 when one is not.
 */
import type { AuditRecord } from "../../gen/es/selene/audit/v1/audit_pb.js";
import { linkOfRecord, verifyChain } from "../runtime/audit-chain/chain-hash.js";
import { SeleneError } from "../runtime/selene-error.js";
import { CONNECTION_FLAGS, connectAudit, operatorEnvelope, parseArgs } from "./cli-connection.js";
import { type Command, EXIT, UsageError } from "./command.js";
import { progressLine } from "./progress-line.js";

const PAGE = 1000;
const CORRELATION = "selenectl-audit-verify";

/** The verify command. */
export const auditVerifyCommand: Command = {
  summary: "[--tenant T]               check the audit hash chains; name the first bad record",
  async run(argv, io) {
    const args = parseArgs(argv, [...CONNECTION_FLAGS, "tenant"], []);
    if (args.words.length > 0) throw new UsageError(`unexpected argument "${args.words[0]}"`);
    const only = args.flags.get("tenant") as string | undefined;
    const audit = connectAudit(args);
    const call = { deadline: 0, correlationId: CORRELATION };
    const envelope = operatorEnvelope(CORRELATION);
    const progress = progressLine(io);
    try {
      const { chains } = await audit.call("listChains", { envelope }, { ...call, deadline: Date.now() + 10_000 });
      const selected = only === undefined ? chains : chains.filter((c) => c.tenantId === only);
      if (only !== undefined && selected.length === 0) {
        io.err(`selenectl audit verify: the ledger has no chain for tenant ${only}`);
        return EXIT.finding;
      }
      let broken = 0;
      for (const chain of selected) {
        const readPage = async (after: bigint) => {
          const { records } = await audit.call(
            "listEvents",
            { envelope, tenantId: chain.tenantId, afterSequence: after, pageSize: PAGE },
            { ...call, deadline: Date.now() + 30_000 },
          );
          return records.map((r: AuditRecord) => linkOfRecord(r));
        };
        const verdict = await verifyChain(chain.tenantId, readPage, PAGE, chain, (checked) =>
          progress.update(`verifying ${chain.tenantId}: ${checked}/${chain.sequence} records`),
        );
        progress.done();
        if (verdict.intact) {
          io.out(`${chain.tenantId}: intact, ${verdict.recordsChecked} records`);
        } else {
          broken += 1;
          io.out(
            `${chain.tenantId}: BROKEN at sequence ${verdict.firstBadSequence} (${verdict.problem}); ` +
              `${verdict.recordsChecked} records before it are intact`,
          );
        }
      }
      return broken === 0 ? EXIT.ok : EXIT.finding;
    } catch (e) {
      progress.done();
      io.err(`selenectl audit verify: ${e instanceof SeleneError ? e.message : String(e)}`);
      return EXIT.usage;
    } finally {
      audit.close();
    }
  },
};
