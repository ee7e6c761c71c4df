/** What certificate a TLS port presents to a new connection. */
import * as tls from "node:tls";

/** The serial number (hex) of the certificate the server at `address` presents on a new TLS connection. */
export function servedSerial(address: string, material: tls.ConnectionOptions): Promise<string> {
  const [host, port] = address.split(":");
  return new Promise((resolve, reject) => {
    const socket = tls.connect({
      host,
      port: Number(port),
      ...material,
      ALPNProtocols: ["h2"],
      checkServerIdentity: () => undefined,
    });
    socket.once("secureConnect", () => {
      resolve(socket.getPeerCertificate().serialNumber);
      socket.destroy();
    });
    socket.once("error", reject);
  });
}
