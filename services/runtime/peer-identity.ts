/**
 * The authenticated SPIFFE id of the peer on the other end of a connection:
 * read from the client certificate that the TLS handshake verified against the
 * CA. Servers map it to a caller (allow-list) or a tenant.
 *
 * A TLS 1.3 connection's peer certificate cannot change (TLS 1.3 has no
 * renegotiation), so it is read once per connection: reading it builds the
 * whole certificate object (fingerprints, public key, names), which cost an
 * engine about a tenth of its CPU per call. A TLS 1.2 connection could
 * renegotiate, so its certificate is read on every call.
 */
import { type PeerCertificate, TLSSocket } from "node:tls";
import type { ServerUnaryCall } from "@grpc/grpc-js";
import { singleSpiffeId } from "./spiffe-id.js";

/** The part of any grpc-js server call (unary or streaming) that exposes its transport security. */
export type AuthenticatedCall = Pick<ServerUnaryCall<unknown, unknown>, "getAuthContext">;

/** What a verified client certificate says about the peer. */
export interface Peer {
  /** Its one SPIFFE id; undefined when it carries none or several. */
  readonly spiffeId: string | undefined;
  /** Its serial number (hex). */
  readonly serialNumber: string;
}

function peerOfCertificate(cert: PeerCertificate | undefined): Peer | undefined {
  if (cert === undefined || cert.raw === undefined) return undefined;
  return { spiffeId: singleSpiffeId(cert.subjectaltname), serialNumber: cert.serialNumber };
}

/** The peer of each TLS 1.3 connection seen, read at its first call; dropped with the connection. */
const connectionPeers = new WeakMap<TLSSocket, Peer | undefined>();

/**
 * The TLS socket a grpc-js call arrived on. grpc-js keeps the call's HTTP/2 stream on the call
 * it hands the handler (`call.call.stream`) without typing it, so each step is checked; undefined
 * when the shape is not that one (another grpc-js version, a server interceptor in between).
 */
function tlsSocketOf(call: AuthenticatedCall): TLSSocket | undefined {
  const socket = (call as { call?: { stream?: { session?: { socket?: unknown } } } }).call?.stream?.session?.socket;
  return socket instanceof TLSSocket ? socket : undefined;
}

/**
 * The client certificate of a grpc-js call, or undefined when there is none. It is authenticated
 * because `serverCredentials` rejects unverified clients during the handshake.
 */
export function peerOf(call: AuthenticatedCall): Peer | undefined {
  const socket = tlsSocketOf(call);
  if (socket !== undefined) return peerOfTlsSocket(socket);
  const context = call.getAuthContext();
  if (context.transportSecurityType !== "ssl") return undefined;
  return peerOfCertificate(context.sslPeerCertificate);
}

/** The client certificate of a TLS socket, or undefined unless the handshake verified one. */
export function peerOfTlsSocket(socket: TLSSocket): Peer | undefined {
  if (connectionPeers.has(socket)) return connectionPeers.get(socket);
  const peer = socket.authorized ? peerOfCertificate(socket.getPeerCertificate()) : undefined;
  if (socket.getProtocol() === "TLSv1.3") connectionPeers.set(socket, peer);
  return peer;
}

/** The SPIFFE id of a grpc-js call's client certificate, or undefined when there is none or it does not carry exactly one. */
export function peerSpiffeId(call: AuthenticatedCall): string | undefined {
  return peerOf(call)?.spiffeId;
}

/** The SPIFFE id of a TLS socket's client certificate, or undefined unless the handshake verified it. */
export function peerSpiffeIdFromTlsSocket(socket: TLSSocket): string | undefined {
  return peerOfTlsSocket(socket)?.spiffeId;
}
