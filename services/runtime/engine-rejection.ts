/** The error an engine returns for a request it cannot serve by design. */
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { SeleneError } from "./selene-error.js";

/** ENGINE_REJECTED: this engine does not do `what`. */
export function notServed(engine: string, what: string): SeleneError {
  return new SeleneError(ReasonCode.ENGINE_REJECTED, `the ${engine} engine does not serve ${what}`);
}
