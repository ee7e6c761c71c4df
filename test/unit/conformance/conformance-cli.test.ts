import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { expect } from "chai";
import { conformanceMain, parseConformanceArgs, UsageError } from "../../../conformance/conformance-cli.js";

describe("npm run conformance: the command line", () => {
  it("takes the target, the engine and the PKI, and defaults the SPIFFE id from the identity table", () => {
    expect(parseConformanceArgs(["--target", "127.0.0.1:50064", "--engine", "calc", "--pki", "p"])).to.deep.equal({
      target: "127.0.0.1:50064",
      engine: "calc",
      pkiDir: resolve("p"),
      spiffeId: "spiffe://selene.local/ns/selene/sa/calc",
      samples: undefined,
      catalog: undefined,
      reportDir: undefined,
    });
  });

  it("gives an engine outside the table the mesh's SPIFFE id of its name, unless --spiffe-id says otherwise", () => {
    expect(parseConformanceArgs(["--target", "h:1", "--engine", "weather"]).spiffeId).to.equal(
      "spiffe://selene.local/ns/selene/sa/weather",
    );
    expect(
      parseConformanceArgs(["--target", "h:1", "--engine", "weather", "--spiffe-id", "spiffe://x/y"]).spiffeId,
    ).to.equal("spiffe://x/y");
  });

  it("refuses a missing target or engine, an address without a port and an unknown option", () => {
    expect(() => parseConformanceArgs(["--engine", "calc"])).to.throw(UsageError, "--target and --engine");
    expect(() => parseConformanceArgs(["--target", "localhost", "--engine", "calc"])).to.throw(UsageError, "HOST:PORT");
    expect(() => parseConformanceArgs(["--target", "h:1", "--engine", "c", "--fast"])).to.throw(UsageError);
  });

  it("exits 2 with the usage for a bad command line, before calling anything", async () => {
    const lines: string[] = [];
    expect(await conformanceMain(["--engine", "calc"], (line) => lines.push(line))).to.equal(2);
    expect(lines.join("\n")).to.include("usage: npm run conformance");
  });

  it("takes the catalog Describe must agree with", () => {
    expect(
      parseConformanceArgs(["--target", "h:1", "--engine", "calc", "--catalog", "policy/engines.json"]).catalog,
    ).to.equal("policy/engines.json");
  });

  it("exits 2 naming the line and the place when the catalog fails its checks, before calling anything", async () => {
    const dir = mkdtempSync(join(tmpdir(), "selene-conformance-catalog-"));
    try {
      const file = join(dir, "engines.json");
      writeFileSync(file, JSON.stringify({ version: 1, engines: [{ name: "calc" }] }));
      const lines: string[] = [];
      const args = ["--target", "127.0.0.1:1", "--engine", "calc", "--catalog", file];
      expect(await conformanceMain(args, (line) => lines.push(line))).to.equal(2);
      expect(lines.join("\n"))
        .to.include(`${file}:1 at .engines[0].spiffeId`)
        .and.include("usage: npm run conformance");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("names the calling program in the usage and writes it where bad usage goes", async () => {
    const out: string[] = [];
    const err: string[] = [];
    const code = await conformanceMain(
      ["--target", "h:1"],
      (line) => out.push(line),
      "selenectl engine conformance",
      (line) => err.push(line),
    );
    expect(code).to.equal(2);
    expect(out).to.deep.equal([]);
    expect(err.join("\n")).to.include("usage: selenectl engine conformance --target HOST:PORT --engine NAME");
  });
});
