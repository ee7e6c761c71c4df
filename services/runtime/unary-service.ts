/**
 * Turns typed unary handlers into a grpc-js service implementation, with every
 * boundary rule in one place, in this order: the caller's mTLS identity against
 * the service's allow-list, the boundary validator on the request bytes, the
 * handler, the boundary validator on the response. Domain errors (SeleneError)
 * become a status, a reason code and an ErrorDetail; anything else becomes
 * INTERNAL, logged with its cause and never described on the wire.
 */
import { create, type DescMessage, type MessageInitShape, type MessageShape, toBinary } from "@bufbuild/protobuf";
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import type { Metadata, ServerUnaryCall, sendUnaryData, UntypedServiceImplementation } from "@grpc/grpc-js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import type { BoundaryValidator } from "./boundary-validator.js";
import { toGrpcStatus } from "./error-status.js";
import type { Logger } from "./logger.js";
import { peerSpiffeId } from "./peer-identity.js";
import { methodPath } from "./raw-service-definition.js";
import { SeleneError } from "./selene-error.js";

/** The metadata key that carries the correlation id across hops. */
export const CORRELATION_KEY = "selene-correlation-id";

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
  readonly metadata: Metadata;
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

/** Settings shared by every method of a service. */
export interface ServiceOptions {
  readonly validator: BoundaryValidator;
  readonly logger: Logger;
  readonly authorize: Authorizer;
  /** This server's own SPIFFE id, logged beside the caller's on denials. */
  readonly self: string;
  /** Told of every call refused for its identity or its bytes (to audit it). Must not throw. */
  readonly onRefused?: (refusal: BoundaryRefusal) => void;
}

function deadlineOf(call: ServerUnaryCall<Buffer, Buffer>): number | undefined {
  const d = call.getDeadline();
  const ms = d instanceof Date ? d.getTime() : d;
  return Number.isFinite(ms) ? ms : undefined;
}

function correlationOf(request: unknown, metadata: Metadata): string {
  const fromEnvelope = (request as { envelope?: { correlationId?: string } }).envelope?.correlationId;
  if (fromEnvelope) return fromEnvelope;
  const fromMetadata = metadata.get(CORRELATION_KEY)[0];
  return typeof fromMetadata === "string" && fromMetadata.length <= 64 ? fromMetadata : "-";
}

/** Builds the grpc-js implementation of `service` from typed handlers. */
export function implementService<T extends GenServiceMethods>(
  service: GenService<T>,
  handlers: ServiceHandlers<T>,
  options: ServiceOptions,
): UntypedServiceImplementation {
  const implementation: UntypedServiceImplementation = {};
  for (const method of service.methods) {
    if (method.methodKind !== "unary") continue;
    const handler = handlers[method.localName as keyof T] as UnaryHandler<DescMessage, DescMessage>;
    const rpcMethod = methodPath(method);
    const base = options.logger.child({ "rpc.method": rpcMethod });
    implementation[method.name] = (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
      const fail = (error: SeleneError, logger: Logger) => {
        if (error.reason === ReasonCode.INTERNAL) logger.error({ err: error.cause ?? error }, "rpc failed");
        else logger.info({ reason: error.reasonName, status: error.status }, "rpc refused");
        callback(toGrpcStatus(error), null);
      };
      const refused = (caller: string | undefined, reason: ReasonCode) =>
        options.onRefused?.({ caller, method: rpcMethod, reason, correlationId: correlationOf({}, call.metadata) });
      const caller = peerSpiffeId(call);
      if (caller === undefined) {
        refused(undefined, ReasonCode.IDENTITY_MISSING);
        fail(new SeleneError(ReasonCode.IDENTITY_MISSING, "the caller presented no SPIFFE identity"), base);
        return;
      }
      const denied = options.authorize(caller);
      if (denied !== undefined) {
        refused(caller, denied.reason);
        base.warn(
          { caller, callee: options.self, reason: denied.reasonName, correlation_id: correlationOf({}, call.metadata) },
          "caller denied",
        );
        callback(toGrpcStatus(denied), null);
        return;
      }
      const verdict = options.validator.validate(method.input, call.request);
      if (!verdict.ok) {
        refused(caller, verdict.error.reason);
        fail(verdict.error, base.child({ caller, correlation_id: correlationOf({}, call.metadata) }));
        return;
      }
      const correlationId = correlationOf(verdict.message, call.metadata);
      const logger = base.child({ correlation_id: correlationId, caller });
      const context: CallContext = {
        caller,
        correlationId,
        deadline: deadlineOf(call),
        logger,
        metadata: call.metadata,
      };
      handler(verdict.message, context).then(
        (init) => {
          const bytes = toBinary(method.output, create(method.output, init));
          const checked = options.validator.validate(method.output, bytes);
          if (!checked.ok) {
            const cause = checked.error;
            fail(new SeleneError(ReasonCode.INTERNAL, "the server produced an invalid response", { cause }), logger);
            return;
          }
          logger.debug("rpc ok");
          callback(null, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
        },
        (e: unknown) => {
          const error =
            e instanceof SeleneError ? e : new SeleneError(ReasonCode.INTERNAL, "internal error", { cause: e });
          fail(error, logger);
        },
      );
    };
  }
  return implementation;
}
