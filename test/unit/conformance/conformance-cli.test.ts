import { resolve } from "node:path";
import { expect } from "chai";
import { conformanceMain, parseConformanceArgs, UsageError } from "../../conformance/conformance-cli.js";

describe("npm run conformance: the command line", () => {
  it("takes the target, the engine and the PKI, and defaults the SPIFFE id from the identity table", () => {
    expect(parseConformanceArgs(["--target", "127.0.0.1:50064", "--engine", "calc", "--pki", "p"])).to.deep.equal({
      target: "127.0.0.1:50064",
      engine: "calc",
      pkiDir: resolve("p"),
      spiffeId: "spiffe://selene.local/ns/selene/sa/calc",
      samples: undefined,
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
});
