/**
 * `selenectl audit verify [--tenant T]`: recomputes every link of every chain
 * (or one tenant's) here, from records read page by page, trusting neither
 * the ledger's server nor its triggers; names the first bad record (one whose
 * link or hash is wrong, or one the ledger cannot even send). Memory holds one
 * page whatever a chain's length; a progress line on stderr counts the
 * records checked. Exit 0 when every chain is intact, 1 when one is not.
 */
import type { AuditRecord, ChainHead } from "../../gen/es/selene/audit/v1/audit_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { type ChainVerdict, linkOfRecord, type StoredLink, verifyChain } from "../runtime/audit-chain/chain-hash.js";
import type { AuditClient } from "../runtime/audit-client.js";
import { SeleneError } from "../runtime/selene-error.js";
import { chainHeads, RECORDS_PER_PAGE, recordPages } from "./audit-pages.js";
import { CONNECTION_FLAGS, connectAudit, parseArgs } from "./cli-connection.js";
import { type CliOutput, type Command, EXIT, UsageError } from "./command.js";
import { progressLine } from "./progress-line.js";

const CORRELATION = "selenectl-audit-verify";

/** A record the ledger cannot send (it breaks the contract: a row changed behind the service). */
class UnreadableRecord extends Error {
  constructor(readonly sequence: bigint) {
    super(`record ${sequence} cannot be read`);
  }
}

/** Whether the service failed to send a page (as opposed to being unreachable or refusing the caller). */
function unsendable(error: unknown): boolean {
  return error instanceof SeleneError && error.reason === ReasonCode.INTERNAL;
}

/** The first page of at most `size` records of `tenantId` after `after` (fewer when cut by size). */
async function pageAfter(audit: AuditClient, tenantId: string, after: bigint, size: number): Promise<AuditRecord[]> {
  const pages = recordPages(audit, { tenantId, afterSequence: after }, CORRELATION, size);
  try {
    return (await pages.next()).value ?? [];
  } finally {
    await pages.return(undefined);
  }
}

/**
 * After a page the service could not send: the records before the first one it cannot send
 * (the smallest page size that fails, by bisection), and that record's sequence, confirmed by a
 * page of it alone; undefined when it sends after all (the fault passed).
 */
async function findUnreadable(
  audit: AuditClient,
  tenantId: string,
  after: bigint,
): Promise<{ readable: AuditRecord[]; bad: bigint | undefined }> {
  let ok = 0;
  let failing = RECORDS_PER_PAGE;
  while (failing - ok > 1) {
    const mid = Math.floor((ok + failing) / 2);
    if (await cannotSend(audit, tenantId, after, mid)) failing = mid;
    else ok = mid;
  }
  const readable = ok === 0 ? [] : await pageAfter(audit, tenantId, after, ok);
  const next = readable.at(-1)?.sequence ?? after;
  return { readable, bad: (await cannotSend(audit, tenantId, next, 1)) ? next + 1n : undefined };
}

/** Whether the service fails to send that page; other faults are thrown. */
function cannotSend(audit: AuditClient, tenantId: string, after: bigint, size: number): Promise<boolean> {
  return pageAfter(audit, tenantId, after, size).then(
    () => false,
    (error: unknown) => {
      if (unsendable(error)) return true;
      throw error;
    },
  );
}

/**
 * The pages of one chain as links, up to the head listed: records appended since (a live ledger)
 * are left for the next run, so the walk ends where the head says the chain ended. After a page
 * the service cannot send, the first record it cannot send is found and is the break.
 */
async function* linkPages(audit: AuditClient, head: ChainHead): AsyncGenerator<StoredLink[]> {
  let after = 0n;
  const take = (records: readonly AuditRecord[]) => {
    const upToHead = records.filter((r) => r.sequence <= head.sequence);
    if (upToHead.length > 0) after = upToHead.at(-1)!.sequence;
    return { links: upToHead.map(linkOfRecord), end: upToHead.length < records.length };
  };
  while (after < head.sequence) {
    try {
      for await (const records of recordPages(audit, { tenantId: head.tenantId, afterSequence: after }, CORRELATION)) {
        const { links, end } = take(records);
        if (links.length > 0) yield links;
        if (end) return;
      }
      return;
    } catch (error) {
      if (!unsendable(error)) throw error;
      const found = await findUnreadable(audit, head.tenantId, after);
      const { links } = take(found.readable);
      if (links.length > 0) yield links;
      if (found.bad !== undefined) throw new UnreadableRecord(found.bad);
    }
  }
}

/** Verifies one chain and says the verdict; returns whether it is intact. */
async function verifyOne(audit: AuditClient, chain: ChainHead, io: CliOutput): Promise<boolean> {
  const progress = progressLine(io);
  const total = chain.sequence;
  const percent = (checked: bigint) => (total === 0n ? 100n : (checked * 100n) / total);
  let verdict: ChainVerdict;
  try {
    verdict = await verifyChain(chain.tenantId, linkPages(audit, chain), chain, (checked) =>
      progress.update(`verifying ${chain.tenantId}: ${checked}/${total} records (${percent(checked)}%)`),
    );
  } catch (error) {
    if (!(error instanceof UnreadableRecord)) throw error;
    const bad = error.sequence;
    verdict = { intact: false, recordsChecked: bad - 1n, firstBadSequence: bad, problem: "unreadable" };
  } finally {
    progress.done();
  }
  if (verdict.intact) {
    io.out(`${chain.tenantId}: intact, ${verdict.recordsChecked} records`);
    return true;
  }
  io.out(
    `${chain.tenantId}: BROKEN at sequence ${verdict.firstBadSequence} (${verdict.problem}); ` +
      `${verdict.recordsChecked} records before it are intact`,
  );
  return false;
}

/** The verify command. */
export const auditVerifyCommand: Command = {
  summary: "[--tenant T]               check the audit hash chains; name the first bad record",
  async run(argv, io) {
    const args = parseArgs(argv, [...CONNECTION_FLAGS, "tenant"], []);
    if (args.words.length > 0) throw new UsageError(`unexpected argument "${args.words[0]}"`);
    const only = args.flags.get("tenant") as string | undefined;
    const audit = connectAudit(args);
    try {
      let broken = 0;
      let found = false;
      for await (const chain of chainHeads(audit, CORRELATION)) {
        if (only !== undefined && chain.tenantId !== only) continue;
        found = true;
        if (!(await verifyOne(audit, chain, io))) broken += 1;
      }
      if (only !== undefined && !found) {
        io.err(`selenectl audit verify: the ledger has no chain for tenant ${only}`);
        return EXIT.finding;
      }
      return broken === 0 ? EXIT.ok : EXIT.finding;
    } catch (e) {
      io.err(`selenectl audit verify: ${e instanceof SeleneError ? e.message : String(e)}`);
      return EXIT.usage;
    } finally {
      audit.close();
    }
  },
};
