/**
 * What a unary service is to its handlers, whatever protocol carries the call:
 * typed handlers, the context each call gets, the caller allow-list and the
 * settings of the call boundary (services/runtime/boundary/) that runs them.
 * The protocol adapters (gRPC, Connect) live beside the boundary; handlers only
 * ever see this.
 */
import type { DescMessage, MessageInitShape, MessageShape } from "@bufbuild/protobuf";
import type { GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import type { BoundaryValidator } from "./boundary-validator.js";
import type { Logger } from "./logger.js";
import { SeleneError } from "./selene-error.js";

/** The metadata key that carries the correlation id across hops. */
export const CORRELATION_KEY = "selene-correlation-id";

/** The request metadata of a call (gRPC metadata or HTTP headers), keys in lower case. */
export interface CallMetadata {
  /** Every text value of `key`, in order; empty when there is none. */
  get(key: string): readonly string[];
  /** The keys present. */
  keys(): readonly string[];
}

/** What a handler knows about its call. */
export interface CallContext {
  /** The authenticated caller's SPIFFE id. */
  readonly caller: string;
  /** The request chain's correlation id. */
  readonly correlationId: string;
  /** The call's deadline in epoch milliseconds, or undefined when it has none. */
  readonly deadline: number | undefined;
  /** A logger whose every line carries the correlation id and the method. */
  readonly logger: Logger;
  /** The incoming metadata. */
  readonly metadata: CallMetadata;
  /** The size of the request's binary encoding, as the boundary admitted it (within its size limit). */
  readonly requestBytes: number;
  /**
   * Whether the answer reaches the caller as the handler builds it: a caller of this build at the
   * current version. False when it is shaped to the caller's release, which drops what that release
   * lacks (contract-negotiation.ts): a handler must not hand out anything the caller needs but
   * will not receive.
   */
  readonly answeredAsBuilt: boolean;
}

/** A typed unary handler. */
export type UnaryHandler<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  context: CallContext,
) => Promise<MessageInitShape<O>>;

/** One handler per unary method of a service. */
export type ServiceHandlers<T extends GenServiceMethods> = {
  [K in keyof T]: UnaryHandler<T[K]["input"], T[K]["output"]>;
};

/** Decides whether a caller may use a service: undefined to allow, or the error to return. */
export type Authorizer = (caller: string) => SeleneError | undefined;

/** An authorizer that admits exactly the given SPIFFE ids and refuses others with `reason`. */
export function allowOnly(allowed: readonly string[], reason: ReasonCode = ReasonCode.CALLER_NOT_ALLOWED): Authorizer {
  const set = new Set(allowed);
  return (caller) =>
    set.has(caller) ? undefined : new SeleneError(reason, `caller ${caller} is not allowed to call this service`);
}

/** A call refused at the boundary, before any handler saw it. */
export interface BoundaryRefusal {
  /** The caller's SPIFFE id; undefined when it presented none. */
  readonly caller: string | undefined;
  /** The fully qualified method, such as /selene.os.v1.TurnService/SubmitTurn. */
  readonly method: string;
  readonly reason: ReasonCode;
  /** From the call's metadata; "-" when it carried none. */
  readonly correlationId: string;
}

/** Settings shared by every method of a service, over every protocol it is served on. */
export interface ServiceOptions {
  readonly validator: BoundaryValidator;
  readonly logger: Logger;
  readonly authorize: Authorizer;
  /** This server's own SPIFFE id, logged beside the caller's on denials. */
  readonly self: string;
  /** Told of every call refused for its identity or its bytes (to audit it). Must not throw. */
  readonly onRefused?: (refusal: BoundaryRefusal) => void;
}
