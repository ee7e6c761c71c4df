/**
 * Pages of list responses, bounded by size as well as by count. Every list
 * RPC (audit records and chains, outbox leases and dead letters) puts its
 * items in repeated field 1 of its response, and the boundary validator
 * refuses a response over the message limit on either side of the call; so a
 * page takes items while they fit, and the write paths refuse an item that
 * could never fit a page alone (MAX_PAGE_ITEM_BYTES).
 */
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { DEFAULT_MAX_MESSAGE_BYTES } from "./boundary-validator.js";
import { SeleneError } from "./selene-error.js";

/** The largest response a list RPC sends: the boundary's message limit, which its readers apply too. */
export const RESPONSE_LIMIT_BYTES = DEFAULT_MAX_MESSAGE_BYTES;

/** What a list response keeps for its fields besides the items: a next-page token and its framing. */
export const PAGE_RESERVE_BYTES = 512;

/** The bytes the items of one page may take, each with its field tag and length. */
export const PAGE_ITEMS_BYTES = RESPONSE_LIMIT_BYTES - PAGE_RESERVE_BYTES;

/** Bytes of `value` as a protobuf varint. */
function varintBytes(value: number): number {
  let bytes = 1;
  for (let rest = value; rest >= 0x80; rest = Math.floor(rest / 0x80)) bytes += 1;
  return bytes;
}

/** Bytes an item of `size` encoded bytes takes as one element of a repeated field numbered below 16. */
export function framedBytes(size: number): number {
  return 1 + varintBytes(size) + size;
}

/** The largest encoded item that fits a page alone: what write paths must bound every item to. */
export const MAX_PAGE_ITEM_BYTES = PAGE_ITEMS_BYTES - 1 - varintBytes(PAGE_ITEMS_BYTES);

/** One page cut from a longer run of items. */
export interface FittedPage<T> {
  readonly items: T[];
  /** True when items were left out (by count or size): a next page follows. */
  readonly more: boolean;
}

/**
 * The longest prefix of `items` with at most `maxItems` items whose framed sizes fit
 * PAGE_ITEMS_BYTES. `items` may hold more than maxItems (one more tells the caller a next page
 * exists). An item that cannot fit even alone is a broken write-path bound: an internal error.
 */
export function fitPage<T>(items: readonly T[], sizeOf: (item: T) => number, maxItems: number): FittedPage<T> {
  const page: T[] = [];
  let used = 0;
  for (const item of items) {
    if (page.length === maxItems) break;
    const size = sizeOf(item);
    const framed = framedBytes(size);
    if (used + framed > PAGE_ITEMS_BYTES) {
      if (page.length === 0) {
        throw new SeleneError(ReasonCode.INTERNAL, "a stored item is larger than any response may be", {
          metadata: { size_bytes: String(size), limit_bytes: String(MAX_PAGE_ITEM_BYTES) },
        });
      }
      break;
    }
    page.push(item);
    used += framed;
  }
  return { items: page, more: page.length < items.length };
}
