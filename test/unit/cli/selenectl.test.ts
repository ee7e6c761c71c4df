import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { ensurePki } from "../../../deploy/pki.js";
import type { CliOutput } from "../../../services/cli/command.js";
import { selenectl } from "../../../services/cli/selenectl.js";

async function run(...argv: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliOutput = { out: (t) => out.push(t), err: (t) => err.push(t), errIsTty: false };
  const code = await selenectl(argv, io);
  return { code, out, err };
}

describe("selenectl usage", () => {
  it("prints the commands for --help and exits 0", async () => {
    const r = await run("--help");
    expect(r.code).to.equal(0);
    expect(r.err.join("\n"))
      .to.match(/selenectl replay/)
      .and.match(/selenectl audit verify/)
      .and.match(/audit tail/)
      .and.match(/selenectl engine conformance/);
  });

  it("exits 2 naming an unknown command, and with no command", async () => {
    const unknown = await run("frobnicate");
    expect(unknown.code).to.equal(2);
    expect(unknown.err[0]).to.match(/unknown command "frobnicate"/);
    expect((await run()).code).to.equal(2);
  });

  const bad: Array<[string[], RegExp]> = [
    [["replay"], /give exactly one correlation id/],
    [["replay", "a", "b"], /give exactly one correlation id/],
    [["replay", "not a correlation id!"], /is not a correlation id/],
    [["replay", "c1", "--bogus"], /unknown flag --bogus/],
    [["replay", "c1", "--pki"], /--pki needs a value/],
    [["audit", "verify", "extra"], /unexpected argument "extra"/],
    [["audit", "tail", "--limit", "0"], /--limit must be a positive integer/],
    [["audit", "tail", "--limit", "2.5"], /--limit must be a positive integer/],
    [["engine", "conformance"], /--target and --engine are required\n\nusage: selenectl engine conformance/],
    [["engine", "conformance", "--target", "h:1", "--engine", "x", "--fast"], /Unknown option '--fast'/],
  ];
  for (const [argv, message] of bad) {
    it(`exits 2 for: selenectl ${argv.join(" ")}`, async () => {
      const r = await run(...argv);
      expect(r.code).to.equal(2);
      expect(r.err.join("\n")).to.match(message);
      expect(r.out).to.deep.equal([]);
    });
  }

  it("exits 2 naming the directory when the operator's certificate cannot be read", async () => {
    const r = await run("replay", "c1", "--pki", "/nonexistent-pki");
    expect(r.code).to.equal(2);
    expect(r.err.join("\n")).to.match(/cannot read the operator's certificate in \/nonexistent-pki/);
  });

  it("exits 2 with the reason when the audit service cannot be reached", async () => {
    const pkiDir = await mkdtemp(join(tmpdir(), "selenectl-pki-"));
    try {
      await ensurePki({ dir: pkiDir });
      for (const argv of [
        ["replay", "c1"],
        ["audit", "verify"],
      ]) {
        const r = await run(...argv, "--audit-addr", "127.0.0.1:1", "--pki", pkiDir);
        expect(r.code, argv.join(" ")).to.equal(2);
        expect(r.err.join("\n")).to.match(/127\.0\.0\.1:1 is unavailable/);
      }
    } finally {
      await rm(pkiDir, { recursive: true, force: true });
    }
  });
});
