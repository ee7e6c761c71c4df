/**
 * ListEvents and ListChains pages: bounded by count and by response size,
 * continued by page tokens. Tokens came with contract 1.1; a 1.0 reader knows
 * none and takes a short page for the end, so it gets a page as full as it
 * asked for (or the last one), or MESSAGE_TOO_LARGE naming page_size, never a
 * page cut short in silence.
 */
import type { MessageInitShape } from "@bufbuild/protobuf";
import type {
  ListChainsRequest,
  ListChainsResponseSchema,
  ListEventsRequest,
  ListEventsResponseSchema,
} from "../../gen/es/selene/audit/v1/audit_pb.js";
import type { ContractVersion } from "../../gen/es/selene/kernel/v1/envelope_pb.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { isAtLeast } from "../runtime/contract-version.js";
import { decodePageToken, encodePageToken, invalidPageToken } from "../runtime/page-token.js";
import { RESPONSE_LIMIT_BYTES } from "../runtime/response-page.js";
import { SeleneError } from "../runtime/selene-error.js";
import type { AuditLedger } from "./audit-ledger.js";
import type { LedgerPosition } from "./ledger-reads.js";

/** The version that brought page tokens to the audit reads. */
const PAGE_TOKENS_SINCE = Object.freeze({ major: 1, minor: 1 });
const DEFAULT_EVENTS_PAGE = 100;
const DEFAULT_CHAINS_PAGE = 1000;

function speaksTokens(version: ContractVersion | undefined): boolean {
  return version !== undefined && isAtLeast(version, PAGE_TOKENS_SINCE);
}

function doesNotFit(what: string, fieldPath: string): SeleneError {
  return new SeleneError(
    ReasonCode.MESSAGE_TOO_LARGE,
    `${what} do not fit one response of ${RESPONSE_LIMIT_BYTES} bytes: ask for fewer, or page by size with contract 1.1 (next_page_token)`,
    { fieldPath, metadata: { limit_bytes: String(RESPONSE_LIMIT_BYTES) } },
  );
}

/** Where a ListEvents page token continues: a tenant's chain, or (without a tenant) every chain. */
function eventsPosition(token: string, tenantId: string): LedgerPosition {
  const [tenant, sequence] = decodePageToken(token, 2) as [string, string];
  if (tenant === "" || !/^\d{1,20}$/.test(sequence) || (tenantId !== "" && tenant !== tenantId)) {
    throw invalidPageToken();
  }
  return { tenantId: tenant, sequence: BigInt(sequence) };
}

/** One ListEvents page. */
export async function listEventsPage(
  ledger: AuditLedger,
  request: ListEventsRequest,
): Promise<MessageInitShape<typeof ListEventsResponseSchema>> {
  const { tenantId, correlationId } = request;
  if (tenantId === "" && correlationId === "") {
    throw new SeleneError(ReasonCode.FIELD_INVALID, "set tenant_id, correlation_id or both", {
      fieldPath: "tenant_id",
    });
  }
  const pageSize = request.pageSize === 0 ? DEFAULT_EVENTS_PAGE : request.pageSize;
  const after =
    request.pageToken !== ""
      ? eventsPosition(request.pageToken, tenantId)
      : tenantId !== ""
        ? { tenantId, sequence: request.afterSequence }
        : undefined;
  const page = await ledger.list({ tenantId, correlationId, after, pageSize });
  if (speaksTokens(request.envelope?.contractVersion)) {
    const next = page.next === undefined ? "" : encodePageToken([page.next.tenantId, page.next.sequence.toString()]);
    return { records: page.records, nextPageToken: next };
  }
  if (page.next !== undefined && page.records.length < pageSize) throw doesNotFit(`${pageSize} records`, "page_size");
  return { records: page.records };
}

/** One ListChains page. */
export async function listChainsPage(
  ledger: AuditLedger,
  request: ListChainsRequest,
): Promise<MessageInitShape<typeof ListChainsResponseSchema>> {
  const after = request.pageToken === "" ? "" : decodePageToken(request.pageToken, 1)[0]!;
  if (request.pageToken !== "" && after === "") throw invalidPageToken();
  const page = await ledger.chains(after, request.pageSize === 0 ? DEFAULT_CHAINS_PAGE : request.pageSize);
  if (speaksTokens(request.envelope?.contractVersion)) {
    return { chains: page.chains, nextPageToken: page.next === undefined ? "" : encodePageToken([page.next]) };
  }
  // A 1.0 reader lists every chain in one response.
  if (page.next !== undefined) throw doesNotFit("the chains", "");
  return { chains: page.chains };
}
