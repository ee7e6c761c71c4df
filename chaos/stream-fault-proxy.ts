/**
 * A fault proxy at the gRPC stream level, for the link from the router to one engine or the outbox:
 * it ends the router's mTLS with that server's own certificate, opens its own mTLS session to the
 * server with the router's, and forwards every HTTP/2 stream (headers, messages, trailers, the deadline in
 * `grpc-timeout`) untouched. Under its fault it fails every n-th stream itself, with UNAVAILABLE,
 * before anything reaches the server, and forwards the others: a call fails or succeeds on its own,
 * on a connection that stays up, which a TCP proxy cannot do (one connection carries every call).
 * It can also lose answers: forward every n-th call of one method and, once the server has
 * answered it (the call did its work), fail it with UNAVAILABLE instead of passing the answer on.
 */
import {
  type ClientHttp2Session,
  connect,
  constants,
  createSecureServer,
  type IncomingHttpHeaders,
  type OutgoingHttpHeaders,
  type ServerHttp2Session,
  type ServerHttp2Stream,
} from "node:http2";
import { serverIdentityCheck, tlsContextOptions } from "../services/runtime/tls-credentials.js";
import { spiffeIdOf } from "../services/runtime/workload-identities.js";

/** A running stream proxy. */
export interface StreamFaultProxy {
  /** host:port to point the client (or the link's TCP fault proxy) at. */
  readonly address: string;
  /** Loads the certificates from the mesh's PKI: until then no handshake succeeds. */
  arm(pkiDir: string): void;
  /** Applies `fault` from now on; undefined: forwards every stream at once. */
  setFault(fault: StreamFault | undefined): void;
  /** Streams seen, failed, delayed and whose answer was lost since the last `setFault`. */
  stats(): { streams: number; failed: number; delayed: number; lost: number };
  close(): Promise<void>;
}

/** What a stream proxy does to the calls: counted per stream, so two runs treat the same calls alike. */
export interface StreamFault {
  /** Fails every n-th stream with UNAVAILABLE (2: half of them). */
  readonly failEvery?: number;
  /** Holds every m-th stream (of those not failed) `delayMs` before forwarding it. */
  readonly delayEvery?: number;
  readonly delayMs?: number;
  /**
   * Loses the answer of every k-th call of `loseAnswerOf` (counted among that method's calls): the
   * call reaches the server, which does its work and answers, and the client gets UNAVAILABLE.
   */
  readonly loseAnswerEvery?: number;
  /** The method whose answers are lost, as its name in the path ("Enqueue"). */
  readonly loseAnswerOf?: string;
}

// Connection-level headers HTTP/2 forbids forwarding, and pseudo-headers set anew.
const HOP = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "host"]);

function forwardable(headers: IncomingHttpHeaders, keepPseudo: readonly string[] = []): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined || HOP.has(name)) continue;
    if (name.startsWith(":") && !keepPseudo.includes(name)) continue;
    out[name] = value;
  }
  return out;
}

/** Ends `stream` with a gRPC status of its own (a trailers-only response). */
function failStream(stream: ServerHttp2Stream, code: number, message: string): void {
  if (stream.destroyed || stream.closed) return;
  if (stream.headersSent) {
    stream.close(constants.NGHTTP2_INTERNAL_ERROR);
    return;
  }
  stream.respond(
    { ":status": 200, "content-type": "application/grpc", "grpc-status": String(code), "grpc-message": message },
    { endStream: true },
  );
}

const UNAVAILABLE = 14;

/** Starts a stream proxy for `workload` (an engine or the outbox) on 127.0.0.1 (a free port) forwarding to `target` (host:port). */
export async function startStreamFaultProxy(workload: string, target: string): Promise<StreamFaultProxy> {
  let fault: StreamFault | undefined;
  let streams = 0;
  let failed = 0;
  let delayed = 0;
  let lost = 0;
  // Calls of the method whose answers are lost, counted apart from the streams.
  let answered = 0;
  let upstream: ClientHttp2Session | undefined;
  let clientTls: ReturnType<typeof tlsContextOptions> | undefined;
  const checkServerIdentity = serverIdentityCheck(spiffeIdOf(workload));

  const session = (): ClientHttp2Session => {
    if (upstream !== undefined && !upstream.closed && !upstream.destroyed) return upstream;
    const s = connect(`https://${target}`, { ...clientTls!, checkServerIdentity });
    s.on("error", () => {}); // its streams fail with it; the next stream opens a new session
    s.on("close", () => {
      if (upstream === s) upstream = undefined;
    });
    upstream = s;
    return s;
  };

  // No certificate until armed: the mesh's PKI is issued after the proxy must have its address.
  const server = createSecureServer({ requestCert: true, rejectUnauthorized: true, allowHTTP1: false });
  server.on("sessionError", () => {});
  const sessions = new Set<ServerHttp2Session>();
  server.on("session", (s) => {
    sessions.add(s);
    s.on("close", () => sessions.delete(s));
  });
  server.on("stream", (stream, headers) => {
    stream.on("error", () => {});
    streams++;
    if (fault?.failEvery !== undefined && streams % fault.failEvery === 0) {
      failed++;
      failStream(stream, UNAVAILABLE, `${workload}: stream failed by the chaos stream fault`);
      return;
    }
    if (fault?.delayEvery !== undefined && streams % fault.delayEvery === 0 && (fault.delayMs ?? 0) > 0) {
      delayed++;
      // Held before anything reaches the server: a call the router cancels meanwhile never does.
      const timer = setTimeout(() => {
        if (!stream.closed && !stream.destroyed) forward(stream, headers);
      }, fault.delayMs);
      stream.on("close", () => clearTimeout(timer));
      return;
    }
    const method = String(headers[":path"] ?? "")
      .split("/")
      .at(-1);
    if (fault?.loseAnswerEvery !== undefined && method === fault.loseAnswerOf) {
      answered++;
      if (answered % fault.loseAnswerEvery === 0) {
        lost++;
        forward(stream, headers, true);
        return;
      }
    }
    forward(stream, headers);
  });

  /**
   * Forwards one stream to the server, both ways; `loseAnswer`: the server's answer is read to its
   * end (the call has done its work) and the client gets UNAVAILABLE instead.
   */
  function forward(stream: ServerHttp2Stream, headers: IncomingHttpHeaders, loseAnswer = false): void {
    let up: ReturnType<ClientHttp2Session["request"]>;
    try {
      up = session().request(forwardable(headers, [":method", ":path", ":authority", ":scheme"]));
    } catch {
      failStream(stream, UNAVAILABLE, `${workload}: not reachable`);
      return;
    }
    if (loseAnswer) {
      up.on("response", () => {});
      up.on("data", () => {});
      up.on("close", () => failStream(stream, UNAVAILABLE, `${workload}: answer lost by the chaos stream fault`));
      stream.on("data", (chunk: Buffer) => up.write(chunk));
      stream.on("end", () => up.end());
      stream.on("close", () => {
        if (!up.closed) up.close(constants.NGHTTP2_CANCEL);
      });
      return;
    }
    let trailers: IncomingHttpHeaders | undefined;
    up.on("response", (h) => {
      if (h["grpc-status"] !== undefined) {
        // Trailers-only: the status is in the headers and nothing follows.
        if (!stream.headersSent) stream.respond(forwardable(h, [":status"]), { endStream: true });
      } else if (!stream.headersSent) {
        stream.respond(forwardable(h, [":status"]), { waitForTrailers: true });
      }
    });
    up.on("trailers", (t) => (trailers = t));
    stream.on("wantTrailers", () => stream.sendTrailers(forwardable(trailers ?? { "grpc-status": "13" })));
    up.on("data", (chunk: Buffer) => {
      if (!stream.destroyed) stream.write(chunk);
    });
    up.on("end", () => {
      if (!stream.destroyed && stream.headersSent && !stream.writableEnded) stream.end();
    });
    up.on("error", () => failStream(stream, UNAVAILABLE, `${workload}: upstream stream failed`));
    stream.on("data", (chunk: Buffer) => up.write(chunk));
    stream.on("end", () => up.end());
    // The router gave up (deadline, cancellation): so does the server.
    stream.on("close", () => {
      if (!up.closed) up.close(constants.NGHTTP2_CANCEL);
    });
  }
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen({ host: "127.0.0.1", port: 0, exclusive: true }, () => resolve());
  });
  const port = (server.address() as { port: number }).port;

  return {
    address: `127.0.0.1:${port}`,
    arm(pkiDir) {
      server.setSecureContext(tlsContextOptions(pkiDir, workload));
      clientTls = tlsContextOptions(pkiDir, "router");
    },
    setFault(f) {
      fault = f;
      streams = 0;
      failed = 0;
      delayed = 0;
      lost = 0;
      answered = 0;
    },
    stats: () => ({ streams, failed, delayed, lost }),
    async close() {
      upstream?.destroy();
      for (const s of sessions) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
