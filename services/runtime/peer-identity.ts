/**
 * The authenticated SPIFFE id of the peer on the other end of a connection:
 * read from the client certificate that the TLS handshake verified against the
 * CA. Servers map it to a caller (allow-list) or a tenant.
 */
import type { TLSSocket } from "node:tls";
import type { ServerUnaryCall } from "@grpc/grpc-js";
import { singleSpiffeId } from "./spiffe-id.js";

/** The part of any grpc-js server call (unary or streaming) that exposes its transport security. */
export type AuthenticatedCall = Pick<ServerUnaryCall<unknown, unknown>, "getAuthContext">;

/**
 * The SPIFFE id of a grpc-js call's client certificate, or undefined when there
 * is none or it does not carry exactly one. The certificate is authenticated
 * because `serverCredentials` rejects unverified clients during the handshake.
 */
export function peerSpiffeId(call: AuthenticatedCall): string | undefined {
  const context = call.getAuthContext();
  if (context.transportSecurityType !== "ssl") return undefined;
  return singleSpiffeId(context.sslPeerCertificate?.subjectaltname);
}

/** The SPIFFE id of a TLS socket's client certificate, or undefined unless the handshake verified it. */
export function peerSpiffeIdFromTlsSocket(socket: TLSSocket): string | undefined {
  if (!socket.authorized) return undefined;
  return singleSpiffeId(socket.getPeerCertificate().subjectaltname);
}
