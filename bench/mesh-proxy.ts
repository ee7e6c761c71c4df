/**
 * A pass-through EngineService proxy for `npm run bench:mesh`: an mTLS grpc-js server presenting the
 * router's certificate whose unary handlers forward the request bytes, metadata and deadline to the
 * engine with a client presenting the router's certificate, and hand back the engine's bytes or
 * status as they are. No validation, no decoding: what it costs is one extra gRPC hop, without any
 * of the router's own work. (It stands in for the router towards the engine; see mesh-clients.ts.)
 */
import * as grpc from "@grpc/grpc-js";
import { EngineService } from "../gen/es/selene/engine/v1/engine_pb.js";
import { rawServiceDefinition } from "../services/runtime/raw-service-definition.js";
import { serverCredentials } from "../services/runtime/tls-credentials.js";
import { grpcChannel } from "./mesh-clients.js";

/** A running proxy. */
export interface PassThroughProxy {
  /** host:port on loopback. */
  readonly address: string;
  close(): Promise<void>;
}

/** Starts the proxy on an ephemeral loopback port, forwarding to engine `engineName` at `engineAddress`. */
export async function startPassThroughProxy(
  pkiDir: string,
  engineName: string,
  engineAddress: string,
): Promise<PassThroughProxy> {
  const upstream = grpcChannel(engineAddress, pkiDir, "router", engineName);
  const definition = rawServiceDefinition(EngineService);
  const passThrough = (b: Buffer) => b;
  const implementation: grpc.UntypedServiceImplementation = {};
  for (const [name, method] of Object.entries(definition)) {
    if (method.requestStream || method.responseStream) continue;
    implementation[name] = (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) => {
      upstream.makeUnaryRequest(
        method.path,
        passThrough,
        passThrough,
        call.request,
        call.metadata,
        { deadline: call.getDeadline() },
        (err, response) => (err ? callback(err, null) : callback(null, response)),
      );
    };
  }
  const server = new grpc.Server();
  server.addService(definition, implementation);
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", serverCredentials(pkiDir, "router"), (err, bound) =>
      err ? reject(err) : resolve(bound),
    ),
  );
  return {
    address: `127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        upstream.close();
        server.tryShutdown(() => resolve());
      }),
  };
}
