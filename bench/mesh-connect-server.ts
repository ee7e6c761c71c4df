/**
 * The connect-node row's server, run in its own process by `npm run bench:mesh` (so it has a core
 * of its own, like the grpc-js tools engine): EngineService.Invoke for tools.lookup over
 * `connectNodeAdapter` on an HTTP/2 TLS server that demands a CA-signed client certificate. It does
 * the per-call work the grpc-js engine does (caller allow-list of the router's SPIFFE id, boundary
 * validation of the request and the response, the tools engine's `read`), so the row differs from
 * the direct grpc-js row in the transport library only.
 *
 * Usage: node dist/bench/mesh-connect-server.js <pkiDir>; sends { port } over IPC once listening,
 * exits on SIGTERM or when the parent goes away.
 */
import { createSecureServer } from "node:http2";
import type { TLSSocket } from "node:tls";
import { create, toBinary } from "@bufbuild/protobuf";
import { Code, ConnectError, type ConnectRouter, createContextKey, createContextValues } from "@connectrpc/connect";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { EngineService, InvokeRequestSchema, InvokeResponseSchema } from "../gen/es/selene/engine/v1/engine_pb.js";
import { read } from "../services/engines/tools/read.js";
import { createBoundaryValidator } from "../services/runtime/boundary-validator.js";
import { peerSpiffeIdFromTlsSocket } from "../services/runtime/peer-identity.js";
import { tlsContextOptions } from "../services/runtime/tls-credentials.js";
import { spiffeIdOf } from "../services/runtime/workload-identities.js";

const pkiDir = process.argv[2];
if (pkiDir === undefined || process.send === undefined) {
  process.stderr.write("usage: forked with <pkiDir> by mesh-bench.js\n");
  process.exit(2);
}

const ROUTER = spiffeIdOf("router");
const validator = createBoundaryValidator();
const peerKey = createContextKey<string | undefined>(undefined, { description: "the caller's SPIFFE id" });

const routes = (router: ConnectRouter) =>
  router.service(EngineService, {
    async invoke(request, context) {
      if (context.values.get(peerKey) !== ROUTER) {
        throw new ConnectError("only the router may call engines", Code.PermissionDenied);
      }
      const checkedRequest = validator.validate(InvokeRequestSchema, toBinary(InvokeRequestSchema, request));
      if (!checkedRequest.ok) throw new ConnectError(checkedRequest.error.message, Code.InvalidArgument);
      const { capability, input } = checkedRequest.message;
      if (capability !== "tools.lookup" || input.case !== "read") {
        throw new ConnectError(`${capability} is not served here`, Code.Unimplemented);
      }
      const result = read("tools.lookup", input.value.args, new Date());
      if (result === undefined) throw new ConnectError("the knowledge base has no answer", Code.FailedPrecondition);
      const response = create(InvokeResponseSchema, { result: { case: "readResult", value: result } });
      const checkedResponse = validator.validate(InvokeResponseSchema, toBinary(InvokeResponseSchema, response));
      if (!checkedResponse.ok) throw new ConnectError("invalid response", Code.Internal);
      return response;
    },
  });

const { ca, cert, key } = tlsContextOptions(pkiDir, "tools");
const server = createSecureServer(
  { ca, cert, key, requestCert: true, rejectUnauthorized: true },
  connectNodeAdapter({
    routes,
    contextValues: (req) => createContextValues().set(peerKey, peerSpiffeIdFromTlsSocket(req.socket as TLSSocket)),
  }),
);
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  process.send?.({ port: typeof address === "object" && address !== null ? address.port : 0 });
});
const stop = () => process.exit(0);
process.on("SIGTERM", stop);
process.on("disconnect", stop);
