/**
 * The gRPC adapter of the call boundary: a grpc-js service implementation
 * whose methods hand the raw request bytes (raw-service-definition.ts), the
 * client certificate, the deadline and the metadata to the boundary, and send
 * back its response bytes or its error as a status with the reason and the
 * ErrorDetail in the trailers (error-status.ts). Nothing else happens here.
 */
import type { GenService, GenServiceMethods } from "@bufbuild/protobuf/codegenv2";
import { Metadata, type ServerUnaryCall, type sendUnaryData, type UntypedServiceImplementation } from "@grpc/grpc-js";
import { toGrpcStatus } from "../error-status.js";
import { peerOf } from "../peer-identity.js";
import type { ServiceHandlers, ServiceOptions } from "../unary-service.js";
import { grpcCallMetadata } from "./call-metadata.js";
import { DEPRECATION_HEADER } from "./contract-negotiation.js";
import { type CallOutcome, createServiceBoundary, type ServiceBoundary } from "./service-boundary.js";

function deadlineOf(call: ServerUnaryCall<Buffer, Buffer>): number | undefined {
  const d = call.getDeadline();
  const ms = d instanceof Date ? d.getTime() : d;
  return Number.isFinite(ms) ? ms : undefined;
}

function reply(call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>, outcome: CallOutcome): void {
  if (!outcome.ok) {
    callback(toGrpcStatus(outcome.error, outcome.surface), null);
    return;
  }
  const { bytes, warnings } = outcome;
  if (warnings.length > 0) {
    const headers = new Metadata();
    headers.set(DEPRECATION_HEADER, warnings.join(", "));
    call.sendMetadata(headers);
  }
  callback(null, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
}

/** The grpc-js implementation of a service boundary's unary methods. */
export function grpcImplementation(boundary: ServiceBoundary): UntypedServiceImplementation {
  const implementation: UntypedServiceImplementation = {};
  for (const method of boundary.methods.values()) {
    implementation[method.method.name] = (call: ServerUnaryCall<Buffer, Buffer>, callback: sendUnaryData<Buffer>) => {
      const peer = peerOf(call);
      void method
        .serve({
          protocol: "grpc",
          caller: peer?.spiffeId,
          callerSerial: peer?.serialNumber,
          body: { format: "binary", bytes: call.request },
          deadline: deadlineOf(call),
          metadata: grpcCallMetadata(call.metadata),
        })
        .then((outcome) => reply(call, callback, outcome));
    };
  }
  return implementation;
}

/** Builds the boundary of `service` and its grpc-js implementation, for a service served over gRPC only. */
export function implementService<T extends GenServiceMethods>(
  service: GenService<T>,
  handlers: ServiceHandlers<T>,
  options: ServiceOptions,
): UntypedServiceImplementation {
  return grpcImplementation(createServiceBoundary(service, handlers, options));
}
