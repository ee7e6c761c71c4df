/**
 * Serves service boundaries over the Connect protocol (connect-adapter.ts) on
 * an HTTPS port, HTTP/2 and HTTP/1.1, that demands a client certificate signed
 * by the mesh CA. The certificate follows rotation on disk like the gRPC
 * port's: new connections get the re-issued one without a restart; and
 * connections older than a maximum age are ended gracefully (HTTP/2 GOAWAY,
 * `connection: close` on HTTP/1.1) so that clients handshake again.
 */
import { constants, createSecureServer, type Http2SecureServer, type ServerHttp2Session } from "node:http2";
import type { TLSSocket } from "node:tls";
import type { Logger } from "../logger.js";
import { type CredentialOptions, watchTlsMaterial } from "../tls-credentials.js";
import { type ConnectRequest, type ConnectResponse, connectHandler } from "./connect-adapter.js";
import type { ServiceBoundary } from "./service-boundary.js";

/** Where and what to serve. */
export interface ConnectServerOptions {
  /** host:port; port 0 picks a free one. */
  readonly address: string;
  readonly pkiDir: string;
  /** The identity whose certificate the port presents, such as "router". */
  readonly name: string;
  readonly boundaries: readonly ServiceBoundary[];
  readonly logger: Logger;
  /** How the certificate files are re-read. */
  readonly credentials?: CredentialOptions;
  /** Connections older than this are ended gracefully; none by default. */
  readonly maxConnectionAgeMs?: number;
  /** Largest request body; the adapter's default when unset. */
  readonly maxBodyBytes?: number;
}

/** A running Connect port. */
export interface RunningConnectServer {
  readonly port: number;
  /** Stops accepting, lets calls in flight finish for up to `graceMs`, then cuts what is left. */
  close(graceMs?: number): Promise<void>;
}

/** How long calls in flight on a connection past its age may still run. */
const CONNECTION_AGE_GRACE_MS = 30_000;

/** The age at which one connection is ended: the maximum, less up to a tenth, so connections do not end together. */
function ageOf(maxAgeMs: number): number {
  return maxAgeMs - Math.floor(Math.random() * (maxAgeMs / 10));
}

/**
 * Ends an HTTP/2 session gracefully, as grpc-js does at a connection's maximum age: a GOAWAY that
 * still admits every stream the client may have sent before it saw it, then close (no new streams;
 * those in flight finish), then a reset after the grace period.
 */
function retire(session: ServerHttp2Session): NodeJS.Timeout | undefined {
  try {
    session.goaway(constants.NGHTTP2_NO_ERROR, 2 ** 31 - 1);
  } catch {
    session.destroy(); // already closing
    return undefined;
  }
  session.close();
  const grace = setTimeout(() => session.destroy(), CONNECTION_AGE_GRACE_MS);
  grace.unref();
  return grace;
}

/** Starts serving; resolves once the port is bound. */
export async function startConnectServer(options: ConnectServerOptions): Promise<RunningConnectServer> {
  const source = watchTlsMaterial(options.pkiDir, options.name, options.credentials);
  const { ca, cert, key } = source.current();
  const handle = connectHandler(options.boundaries, { maxBodyBytes: options.maxBodyBytes });
  const sessions = new Set<ServerHttp2Session>();
  const http1Sockets = new Set<TLSSocket>();
  const aged = new WeakSet<object>();
  const busy = new WeakSet<object>();
  let closing = false;
  const maxAge = options.maxConnectionAgeMs;

  const server: Http2SecureServer = createSecureServer(
    { ca, cert, key, requestCert: true, rejectUnauthorized: true, allowHTTP1: true },
    (request: ConnectRequest, response: ConnectResponse) => {
      if ("shouldKeepAlive" in response) {
        // HTTP/1.1: the last response on an aged (or closing) connection says so, and the client reconnects.
        if (aged.has(request.socket) || closing) response.shouldKeepAlive = false;
        busy.add(request.socket);
        response.once("close", () => busy.delete(request.socket));
      }
      handle(request, response);
    },
  );
  const unsubscribe = source.subscribe((next) =>
    server.setSecureContext({ ca: next.ca, cert: next.cert, key: next.key }),
  );

  server.on("session", (session: ServerHttp2Session) => {
    sessions.add(session);
    let grace: NodeJS.Timeout | undefined;
    const timer = maxAge === undefined ? undefined : setTimeout(() => (grace = retire(session)), ageOf(maxAge));
    timer?.unref();
    session.once("close", () => {
      clearTimeout(timer);
      clearTimeout(grace);
      sessions.delete(session);
    });
  });
  server.on("secureConnection", (socket: TLSSocket) => {
    if (socket.alpnProtocol === "h2") return;
    http1Sockets.add(socket);
    const timer = maxAge === undefined ? undefined : setTimeout(() => aged.add(socket), ageOf(maxAge));
    timer?.unref();
    socket.once("close", () => {
      clearTimeout(timer);
      http1Sockets.delete(socket);
    });
  });

  await new Promise<void>((resolve, reject) => {
    const [host, port] = options.address.split(/:(?=\d+$)/) as [string, string];
    server.once("error", reject);
    server.listen(Number(port), host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === "object" && address !== null ? address.port : 0;
  options.logger.info({ connect_port: port }, "connect listening");

  return {
    port,
    close(graceMs = 5000) {
      unsubscribe();
      closing = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const session of sessions) session.close();
      // An idle HTTP/1.1 connection would hold the close until the force; a busy one closes after its response.
      for (const socket of http1Sockets) if (!busy.has(socket)) socket.destroy();
      const force = setTimeout(() => {
        for (const session of sessions) session.destroy();
        for (const socket of http1Sockets) socket.destroy();
      }, graceMs);
      return closed.finally(() => clearTimeout(force));
    },
  };
}
