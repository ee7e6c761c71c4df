import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { ensurePki } from "../../deploy/pki.js";
import type { CliOutput } from "../../services/cli/command.js";
import { selenectl } from "../../services/cli/selenectl.js";
import { type RunningGrpcServer, startGrpcServer } from "../../services/runtime/grpc-server.js";
import { createLogger } from "../../services/runtime/logger.js";
import { serverCredentials } from "../../services/runtime/tls-credentials.js";

async function run(argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliOutput = { out: (t) => out.push(t), err: (t) => err.push(t), errIsTty: false };
  const code = await selenectl(argv, io);
  return { code, out: out.join("\n"), err: err.join("\n") };
}

// A real mTLS gRPC server with the tools certificate stands in for a live engine; the catalog
// also names an engine nothing listens for, and one whose address answers with another identity.
describe("selenectl engines", function () {
  this.timeout(30_000);
  let dir: string;
  let server: RunningGrpcServer;
  let catalogFile: string;
  let closedPort: number;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "selene-engines-cli-"));
    await ensurePki({ dir });
    const logger = createLogger("test", "silent");
    server = await startGrpcServer({
      address: "127.0.0.1:0",
      healthAddress: "127.0.0.1:0",
      credentials: serverCredentials(dir, "tools"),
      services: [],
      logger,
    });
    // A port that was free a moment ago: nothing listens there.
    const probe = await startGrpcServer({
      address: "127.0.0.1:0",
      healthAddress: "127.0.0.1:0",
      credentials: serverCredentials(dir, "calc"),
      services: [],
      logger,
    });
    closedPort = probe.port;
    await probe.shutdown(0);
    catalogFile = join(dir, "engines.json");
    const engine = (name: string, port: number, capability: string, kind: string) => ({
      name,
      spiffeId: `spiffe://selene.local/ns/selene/sa/${name}`,
      address: `127.0.0.1:${port}`,
      capabilities: [{ name: capability, kind }],
    });
    writeFileSync(
      catalogFile,
      JSON.stringify({
        version: 1,
        engines: [
          engine("tools", server.port, "tools.lookup", "READ"),
          engine("calc", closedPort, "calc.evaluate", "READ"),
          engine("reminders", server.port, "reminders.create", "EFFECT"),
        ],
      }),
    );
  });
  after(async () => {
    await server.shutdown(0);
    rmSync(dir, { recursive: true, force: true });
  });

  it("lists the catalog with each engine's live state as JSON, and exits 1 when one is not serving", async () => {
    const { code, out } = await run(["engines", "--json", "--catalog", catalogFile, "--pki", dir]);
    const listed = JSON.parse(out);
    expect(listed.catalog).to.deep.include({ file: catalogFile, version: 1 });
    expect(listed.catalog.digest).to.match(/^sha256:/);
    expect(listed.engines.map((e: { name: string }) => e.name)).to.deep.equal(["tools", "calc", "reminders"]);
    expect(listed.engines[0]).to.deep.equal({
      name: "tools",
      spiffeId: "spiffe://selene.local/ns/selene/sa/tools",
      address: `127.0.0.1:${server.port}`,
      capabilities: [{ name: "tools.lookup", kind: "READ" }],
      health: { state: "SERVING" },
    });
    expect(listed.engines[1].health.state).to.equal("UNREACHABLE");
    // The address answers, but with the tools identity, not the reminders one the catalog names.
    expect(listed.engines[2].health.state).to.equal("UNREACHABLE");
    expect(listed.engines[2].health.detail).to.include("spiffe://selene.local/ns/selene/sa/reminders");
    expect(code).to.equal(1);
  });

  it("takes SELENE_<NAME>_ADDR over the catalog's address, as the router does, and exits 0 when all serve", async () => {
    const only = join(dir, "tools-only.json");
    writeFileSync(
      only,
      JSON.stringify({
        version: 1,
        engines: [
          {
            name: "tools",
            spiffeId: "spiffe://selene.local/ns/selene/sa/tools",
            address: `127.0.0.1:${closedPort}`,
            capabilities: [{ name: "tools.time", kind: "READ" }],
          },
        ],
      }),
    );
    try {
      process.env.SELENE_TOOLS_ADDR = `127.0.0.1:${server.port}`;
      const { code, out } = await run(["engines", "--catalog", only, "--pki", dir]);
      expect(out).to.match(/^tools\s+SERVING\s+127\.0\.0\.1:\d+\s+spiffe:\/\/selene\.local\/ns\/selene\/sa\/tools$/m);
      expect(out).to.include("tools.time (READ)");
      expect(code).to.equal(0);
    } finally {
      delete process.env.SELENE_TOOLS_ADDR;
    }
  });

  it("refuses a catalog that does not pass its checks, naming the line and the place (exit 2)", async () => {
    const bad = join(dir, "bad.json");
    writeFileSync(bad, JSON.stringify({ version: 1, engines: [{ name: "Tools" }] }));
    const { code, err } = await run(["engines", "--catalog", bad, "--pki", dir]);
    expect(code).to.equal(2);
    expect(err).to.include(`${bad}:1 at .engines[0]`);
  });
});
