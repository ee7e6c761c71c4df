/**
 * The audit ledger's records of one correlation id, as the operator reads them: what `replay` and
 * `provenance verify` work on. Checks the id, connects as the operator and pages through.
 */
import type { AuditRecord } from "../../gen/es/selene/audit/v1/audit_pb.js";
import { SeleneError } from "../runtime/selene-error.js";
import { recordPages } from "./audit-pages.js";
import { connectAudit, type ParsedArgs } from "./cli-connection.js";
import { type CliOutput, EXIT, UsageError } from "./command.js";

const CORRELATION = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** The one correlation id among the command's words; a UsageError otherwise. */
export function correlationIdOf(args: ParsedArgs): string {
  const [correlationId, extra] = args.words;
  if (correlationId === undefined || extra !== undefined) throw new UsageError("give exactly one correlation id");
  if (!CORRELATION.test(correlationId)) throw new UsageError(`"${correlationId}" is not a correlation id`);
  return correlationId;
}

/** The records of `correlationId`, or the exit code when there are none or the ledger is unreachable. */
export async function correlationRecords(
  args: ParsedArgs,
  correlationId: string,
  io: CliOutput,
  command: string,
): Promise<AuditRecord[] | number> {
  const audit = connectAudit(args);
  const records: AuditRecord[] = [];
  try {
    for await (const page of recordPages(audit, { correlationId }, correlationId)) records.push(...page);
  } catch (e) {
    io.err(`selenectl ${command}: ${e instanceof SeleneError ? e.message : String(e)}`);
    return EXIT.usage;
  } finally {
    audit.close();
  }
  if (records.length === 0) {
    io.err(`selenectl ${command}: the ledger holds no record of correlation id ${correlationId}`);
    return EXIT.finding;
  }
  return records;
}
