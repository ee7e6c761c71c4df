/**
 * The two echo servers `npm run bench:transport` measures the floor of a hop with, each run in a
 * process of its own: a raw TCP echo (no TLS, no framing: the bytes come straight back) and a bare
 * grpc-js unary echo over mTLS with the mesh's certificates (the tools workload's certificate,
 * client certificates required and verified against the mesh's CA; no boundary, no interceptors,
 * no metrics, no tracing).
 */
import { readFileSync } from "node:fs";
import { createServer } from "node:net";
import * as grpc from "@grpc/grpc-js";
import { rawMethod } from "../services/runtime/raw-service-definition.js";
import { pkiFiles } from "../services/runtime/tls-credentials.js";

/** The method path of the bare gRPC echo. */
export const TRANSPORT_ECHO_PATH = "/selene.bench.TransportEcho/Echo";

/** The workload whose certificate the bare gRPC echo presents. */
export const ECHO_SERVER_IDENTITY = "tools";

/** Starts a TCP server on loopback that writes back every byte it reads; resolves its port. */
export function startTcpEcho(): Promise<number> {
  const server = createServer((socket) => {
    socket.setNoDelay(true);
    socket.on("data", (chunk) => socket.write(chunk));
    socket.on("error", () => socket.destroy());
  });
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") reject(new Error("no TCP port"));
      else resolve(address.port);
    });
  });
}

/** Starts a grpc-js server with one unary echo method over mTLS, with the mesh's certificates in `pkiDir`. */
export function startMtlsGrpcEcho(pkiDir: string): Promise<number> {
  const files = pkiFiles(pkiDir, ECHO_SERVER_IDENTITY);
  const credentials = grpc.ServerCredentials.createSsl(
    readFileSync(files.ca),
    [{ private_key: readFileSync(files.key), cert_chain: readFileSync(files.cert) }],
    true,
  );
  const server = new grpc.Server();
  server.addService(
    { Echo: rawMethod(TRANSPORT_ECHO_PATH) },
    {
      Echo: (call: grpc.ServerUnaryCall<Buffer, Buffer>, callback: grpc.sendUnaryData<Buffer>) =>
        callback(null, call.request),
    },
  );
  return new Promise((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", credentials, (err, port) => (err ? reject(err) : resolve(port))),
  );
}
