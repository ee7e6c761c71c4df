/**
 * Page tokens of list RPCs: the position after a page's last item, as a few
 * strings, opaque to callers (base64url of a JSON array). A token a service
 * did not issue is refused as FIELD_INVALID at `page_token`, never decoded
 * into a query.
 */
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { SeleneError } from "./selene-error.js";

/** The token of a position. */
export function encodePageToken(position: readonly string[]): string {
  return Buffer.from(JSON.stringify(position), "utf8").toString("base64url");
}

/** The refusal of a token this service did not issue (or issued for another query). */
export function invalidPageToken(): SeleneError {
  return new SeleneError(ReasonCode.FIELD_INVALID, "page_token is not a token from a previous page", {
    violations: [{ fieldPath: "page_token", ruleId: "page_token.valid", message: "unknown page token" }],
  });
}

/** The position in `token`: exactly `arity` strings, or invalidPageToken. */
export function decodePageToken(token: string, arity: number): string[] {
  try {
    const position = JSON.parse(Buffer.from(token, "base64url").toString("utf8")) as unknown;
    if (Array.isArray(position) && position.length === arity && position.every((p) => typeof p === "string")) {
      return position as string[];
    }
  } catch {
    // fall through: not a token this service issued
  }
  throw invalidPageToken();
}
