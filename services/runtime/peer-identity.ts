/**
 * The authenticated SPIFFE id of the peer on the other end of a connection:
 * read from the client certificate that the TLS handshake verified against the
 * CA. Servers map it to a caller (allow-list) or a tenant.
 */
import type { PeerCertificate, TLSSocket } from "node:tls";
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

/**
 * The client certificate of a grpc-js call, or undefined when there is none. It is authenticated
 * because `serverCredentials` rejects unverified clients during the handshake.
 */
export function peerOf(call: AuthenticatedCall): Peer | undefined {
  const context = call.getAuthContext();
  if (context.transportSecurityType !== "ssl") return undefined;
  return peerOfCertificate(context.sslPeerCertificate);
}

/** The client certificate of a TLS socket, or undefined unless the handshake verified one. */
export function peerOfTlsSocket(socket: TLSSocket): Peer | undefined {
  if (!socket.authorized) return undefined;
  return peerOfCertificate(socket.getPeerCertificate());
}

/** The SPIFFE id of a grpc-js call's client certificate, or undefined when there is none or it does not carry exactly one. */
export function peerSpiffeId(call: AuthenticatedCall): string | undefined {
  return peerOf(call)?.spiffeId;
}

/** The SPIFFE id of a TLS socket's client certificate, or undefined unless the handshake verified it. */
export function peerSpiffeIdFromTlsSocket(socket: TLSSocket): string | undefined {
  return peerOfTlsSocket(socket)?.spiffeId;
}
