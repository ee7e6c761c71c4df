import { mkdtemp, readdir, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type * as X509 from "@peculiar/x509";
import { expect } from "chai";
import { ensurePki, loadX509, type PkiSummary } from "../../deploy/pki.js";
import { IDENTITIES } from "../../services/runtime/workload-identities.js";

const HOUR_MS = 3_600_000;

describe("pki", () => {
  let x509: typeof X509;
  let dir: string;
  let first: PkiSummary;
  const now = new Date();

  before(async () => {
    x509 = await loadX509();
    dir = await mkdtemp(join(tmpdir(), "selene-pki-"));
    first = await ensurePki({ dir, now });
  });

  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  async function certificate(name: string): Promise<X509.X509Certificate> {
    return new x509.X509Certificate(await readFile(join(dir, `${name}.crt`), "utf8"));
  }

  function sanOf(cert: X509.X509Certificate): Array<{ type: string; value: string }> {
    const ext = cert.getExtension(x509.SubjectAlternativeNameExtension);
    return ext === null ? [] : ext.names.items.map((name) => ({ type: name.type, value: name.value }));
  }

  it("issues the CA and a certificate and key per identity, and nothing else", async () => {
    expect(first.caIssued).to.equal(true);
    expect(first.upToDate).to.equal(false);
    expect(first.issued.map((i) => i.name)).to.deep.equal(["ca", ...IDENTITIES.map((i) => i.name)]);
    const expected = ["ca", ...IDENTITIES.map((i) => i.name)].flatMap((n) => [`${n}.crt`, `${n}.key`]);
    expect((await readdir(dir)).sort()).to.deep.equal(expected.sort());
  });

  it("makes the CA a 30-day certificate authority that may only sign", async () => {
    const ca = await certificate("ca");
    expect(await ca.isSelfSigned()).to.equal(true);
    expect(ca.getExtension(x509.BasicConstraintsExtension)?.ca).to.equal(true);
    expect(ca.getExtension(x509.KeyUsagesExtension)?.usages).to.equal(
      x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
    );
    const days = (ca.notAfter.getTime() - now.getTime()) / (24 * HOUR_MS);
    expect(days).to.be.within(29.99, 30.01);
  });

  it("gives every workload its SPIFFE id, DNS names and loopback IP, for server and client auth", async () => {
    const ca = await certificate("ca");
    for (const identity of IDENTITIES.filter((i) => i.kind === "workload")) {
      const cert = await certificate(identity.name);
      const n = identity.name;
      expect(sanOf(cert), n).to.have.deep.members([
        { type: "url", value: identity.spiffeId },
        { type: "dns", value: "localhost" },
        { type: "dns", value: n },
        { type: "dns", value: `${n}.selene.svc` },
        { type: "dns", value: `${n}.selene.svc.cluster.local` },
        { type: "ip", value: "127.0.0.1" },
      ]);
      expect(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages).to.have.members([
        x509.ExtendedKeyUsage.serverAuth,
        x509.ExtendedKeyUsage.clientAuth,
      ]);
      expect(cert.getExtension(x509.KeyUsagesExtension)?.usages).to.equal(x509.KeyUsageFlags.digitalSignature);
      expect(cert.getExtension(x509.BasicConstraintsExtension)?.ca).to.equal(false);
      expect(await cert.verify({ publicKey: ca.publicKey, signatureOnly: true }), n).to.equal(true);
    }
  });

  it("gives the clients only their SPIFFE id and client auth", async () => {
    for (const [name, id] of [
      ["demo-app", "spiffe://selene.local/ns/clients/sa/demo-app"],
      ["operator", "spiffe://selene.local/ns/operators/sa/operator"],
    ] as const) {
      const cert = await certificate(name);
      expect(sanOf(cert), name).to.deep.equal([{ type: "url", value: id }]);
      expect(cert.getExtension(x509.ExtendedKeyUsageExtension)?.usages).to.deep.equal([
        x509.ExtendedKeyUsage.clientAuth,
      ]);
    }
  });

  it("issues leaves that expire 24 hours after issue", async () => {
    for (const identity of IDENTITIES) {
      const cert = await certificate(identity.name);
      expect(cert.notAfter.getTime() - now.getTime(), identity.name).to.be.within(24 * HOUR_MS - 1000, 24 * HOUR_MS);
      expect(cert.notBefore.getTime()).to.be.at.most(now.getTime());
    }
  });

  it("writes private keys as PKCS#8 with mode 0600", async () => {
    for (const name of ["ca", ...IDENTITIES.map((i) => i.name)]) {
      const key = join(dir, `${name}.key`);
      expect((await stat(key)).mode & 0o777, name).to.equal(0o600);
      expect(await readFile(key, "utf8")).to.match(/^-----BEGIN PRIVATE KEY-----\n/);
    }
  });

  it("issues nothing when every leaf has more than 2 hours left", async () => {
    const again = await ensurePki({ dir, now: new Date(now.getTime() + 21 * HOUR_MS) });
    expect(again.upToDate).to.equal(true);
    expect(again.issued).to.deep.equal([]);
  });

  it("re-issues the leaves under the same CA when they have less than 2 hours left", async () => {
    const caBefore = await readFile(join(dir, "ca.crt"));
    const later = new Date(now.getTime() + 22.5 * HOUR_MS);
    const renewed = await ensurePki({ dir, now: later });
    expect(renewed.caIssued).to.equal(false);
    expect(renewed.issued.map((i) => i.reason)).to.deep.equal(IDENTITIES.map(() => "expires within 2h"));
    expect(await readFile(join(dir, "ca.crt"))).to.deep.equal(caBefore);
    expect((await certificate("router")).notAfter.getTime()).to.equal(
      Math.floor((later.getTime() + 24 * HOUR_MS) / 1000) * 1000,
    );
  });

  it("re-issues every leaf under the same CA on rotate", async () => {
    const caBefore = await readFile(join(dir, "ca.crt"));
    const serialsBefore = await Promise.all(IDENTITIES.map(async (i) => (await certificate(i.name)).serialNumber));
    const rotated = await ensurePki({ dir, rotate: true });
    expect(rotated.caIssued).to.equal(false);
    expect(rotated.issued.map((i) => i.name)).to.deep.equal(IDENTITIES.map((i) => i.name));
    expect(await readFile(join(dir, "ca.crt"))).to.deep.equal(caBefore);
    const ca = await certificate("ca");
    for (const [index, identity] of IDENTITIES.entries()) {
      const cert = await certificate(identity.name);
      expect(cert.serialNumber).to.not.equal(serialsBefore[index]);
      expect(await cert.verify({ publicKey: ca.publicKey, signatureOnly: true })).to.equal(true);
    }
  });

  it("re-issues a leaf whose key no longer matches its certificate", async () => {
    await writeFile(join(dir, "nlp.key"), await readFile(join(dir, "tools.key")), { mode: 0o600 });
    const repaired = await ensurePki({ dir });
    expect(repaired.issued.map((i) => [i.name, i.reason])).to.deep.equal([["nlp", "key does not match"]]);
  });

  it("re-issues the CA and every leaf on force", async () => {
    const caBefore = await certificate("ca");
    const forced = await ensurePki({ dir, force: true });
    expect(forced.caIssued).to.equal(true);
    expect(forced.issued).to.have.length(IDENTITIES.length + 1);
    const ca = await certificate("ca");
    expect(ca.serialNumber).to.not.equal(caBefore.serialNumber);
    const router = await certificate("router");
    expect(await router.verify({ publicKey: ca.publicKey, signatureOnly: true })).to.equal(true);
    expect((await readdir(dir)).filter((f) => f.endsWith(".tmp"))).to.deep.equal([]);
  });

  it("re-issues the CA and every leaf when the CA would expire before a new leaf", async () => {
    const nearCaExpiry = new Date(Date.now() + 29 * 24 * HOUR_MS);
    const renewed = await ensurePki({ dir, now: nearCaExpiry });
    expect(renewed.issued[0]).to.include({ name: "ca", reason: "expires before a new leaf would" });
    expect(renewed.issued.slice(1).map((i) => i.reason)).to.deep.equal(IDENTITIES.map(() => "new CA"));
  });
});
