/**
 * How selenectl reads the audit ledger: page by page, following each
 * response's next_page_token, so a command holds one page at a time whatever
 * the ledger's size (the service cuts pages by count and by response size).
 * `audit verify`, `audit tail` and `replay` all read through here.
 */
import type { AuditRecord, ChainHead } from "../../gen/es/selene/audit/v1/audit_pb.js";
import type { AuditClient } from "../runtime/audit-client.js";
import { operatorEnvelope } from "./cli-connection.js";

/** Records asked for per page; the service sends fewer when they would not fit one response. */
export const RECORDS_PER_PAGE = 1000;
/** Time one page may take, ms. */
const CALL_MS = 30_000;

/** Which records to read: a tenant's (after a sequence number), a correlation id's, or both. */
export interface RecordQuery {
  readonly tenantId?: string;
  readonly correlationId?: string;
  readonly afterSequence?: bigint;
}

/**
 * The records of `query`, a page of at most `pageSize` at a time, in ledger order; calls carry
 * `correlationId`.
 */
export async function* recordPages(
  audit: AuditClient,
  query: RecordQuery,
  correlationId: string,
  pageSize = RECORDS_PER_PAGE,
): AsyncGenerator<AuditRecord[]> {
  const envelope = operatorEnvelope(correlationId);
  let pageToken = "";
  do {
    const page = await audit.call(
      "listEvents",
      { envelope, ...query, pageSize, pageToken },
      { deadline: Date.now() + CALL_MS, correlationId },
    );
    if (page.records.length > 0) yield page.records;
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
}

/** The head of every chain, in byte order of tenant id, read a page at a time. */
export async function* chainHeads(audit: AuditClient, correlationId: string): AsyncGenerator<ChainHead> {
  const envelope = operatorEnvelope(correlationId);
  let pageToken = "";
  do {
    const page = await audit.call(
      "listChains",
      { envelope, pageSize: RECORDS_PER_PAGE, pageToken },
      { deadline: Date.now() + CALL_MS, correlationId },
    );
    yield* page.chains;
    pageToken = page.nextPageToken;
  } while (pageToken !== "");
}
