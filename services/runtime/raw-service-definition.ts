/**
 * A grpc-js service definition for a protobuf-es service whose (de)serializers
 * pass raw bytes through, so that the boundary validator sees the exact bytes
 * of every request and response (size, unknown fields, wire types).
 */
import type { DescMethod, DescService } from "@bufbuild/protobuf";
import type { MethodDefinition, ServiceDefinition } from "@grpc/grpc-js";

const passThrough = (value: Buffer): Buffer => value;

/** The gRPC path of a method: "/package.Service/Method". */
export function methodPath(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/** A grpc-js method at `path` whose messages are raw Buffers (unary unless the stream flags say otherwise). */
export function rawMethod(
  path: string,
  requestStream = false,
  responseStream = false,
): MethodDefinition<Buffer, Buffer> {
  return {
    path,
    requestStream,
    responseStream,
    requestSerialize: passThrough,
    requestDeserialize: passThrough,
    responseSerialize: passThrough,
    responseDeserialize: passThrough,
  };
}

/** A grpc-js definition of `service` whose messages are raw Buffers. */
export function rawServiceDefinition(service: DescService): ServiceDefinition {
  const definition: Record<string, MethodDefinition<Buffer, Buffer>> = {};
  for (const method of service.methods) {
    definition[method.name] = rawMethod(
      methodPath(method),
      method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
    );
  }
  return definition;
}
