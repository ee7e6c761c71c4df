/**
 * A turn posted to a test mesh's public JSON port (the Connect adapter) as an outside client would:
 * HTTPS with the demo app's client certificate, `application/json`, no client library of this
 * project.
 */
import { readFileSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import { request as httpsRequest } from "node:https";
import { join } from "node:path";
import { connectAddress } from "../../deploy/mesh-processes.js";
import type { TestMesh } from "./mesh-fixture.js";

/** What the JSON port answered. */
export interface JsonPortResponse {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** POSTs `body` (JSON text) to TurnService/SubmitTurn on `mesh`'s JSON port, with `headers` added. */
export function postJsonTurn(
  mesh: TestMesh,
  body: string,
  headers: Record<string, string> = {},
): Promise<JsonPortResponse> {
  const [host, port] = connectAddress(mesh.layout.portOffset).split(":") as [string, string];
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      {
        host,
        port: Number(port),
        path: "/selene.os.v1.TurnService/SubmitTurn",
        method: "POST",
        headers: { "content-type": "application/json", ...headers },
        ca: readFileSync(join(mesh.pkiDir, "ca.crt")),
        cert: readFileSync(join(mesh.pkiDir, "demo-app.crt")),
        key: readFileSync(join(mesh.pkiDir, "demo-app.key")),
        servername: "router",
        agent: false,
      },
      (res) => {
        let text = "";
        res.on("data", (chunk) => (text += chunk));
        res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text }));
      },
    );
    req.on("error", reject);
    req.end(body);
  });
}
