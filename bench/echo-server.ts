/** A grpc-js server with one unary method that returns its request bytes unchanged. */
import * as grpc from "@grpc/grpc-js";
import { rawMethod } from "../services/runtime/raw-service-definition.js";

/** The method path of the echo call. */
export const ECHO_PATH = "/selene.bench.Echo/Echo";

/** Starts the echo server on an ephemeral loopback port and returns the port. */
export function startEchoServer(): Promise<number> {
  const server = new grpc.Server();
  server.addService(
    {
      Echo: rawMethod(ECHO_PATH),
    },
    {
      Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
        callback(null, call.request),
    },
  );
  return new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", grpc.ServerCredentials.createInsecure(), (err, port) =>
      err ? reject(err) : resolve(port),
    ),
  );
}
