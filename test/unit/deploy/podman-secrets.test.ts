import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { certificateSecret, envSecret } from "../../../deploy/cluster/podman-secrets.js";

describe("podman secrets", () => {
  it("writes an env secret as a JSON map of base64 values", () => {
    const secret = envSecret("router-database", { url: "postgres://a:b@h/d" });
    expect(JSON.parse(secret.content)).to.deep.equal({ url: Buffer.from("postgres://a:b@h/d").toString("base64") });
  });

  it("writes a volume secret with the file names the runtime reads as keys, contents as they are", () => {
    const dir = mkdtempSync(join(tmpdir(), "podman-secret-"));
    try {
      for (const file of ["ca.crt", "nlp.crt", "nlp.key"]) writeFileSync(join(dir, file), `PEM of ${file}\n`);
      const secret = certificateSecret("nlp-tls", "nlp", dir);
      expect(JSON.parse(secret.content)).to.deep.equal({
        apiVersion: "v1",
        kind: "Secret",
        metadata: { name: "nlp-tls" },
        data: { "ca.crt": "PEM of ca.crt\n", "nlp.crt": "PEM of nlp.crt\n", "nlp.key": "PEM of nlp.key\n" },
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
