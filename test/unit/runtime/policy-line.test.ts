import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { loadEngineCatalog } from "../../../services/runtime/policy/engine-catalog.js";
import { PolicyError, policyPath } from "../../../services/runtime/policy/policy-file.js";
import { lineOf, placeSegments } from "../../../services/runtime/policy/policy-line.js";

const TEXT = `{
  "version": 1,
  "engines": [
    { "name": "nlp" },
    {
      "name": "tools",
      "capabilities": [{ "name": "tools.time" }]
    }
  ],
  "capabilities": { "tools.lookup": { "retry": {} } }
}
`;

describe("policy line", () => {
  it("reads the places the policy checks write", () => {
    expect(placeSegments(".engines[1].capabilities[0].name")).to.deep.equal(["engines", 1, "capabilities", 0, "name"]);
    expect(placeSegments('policy.capabilities["tools.lookup"].retry')).to.deep.equal([
      "policy",
      "capabilities",
      "tools.lookup",
      "retry",
    ]);
    expect(placeSegments("")).to.deep.equal([]);
    expect(placeSegments(".engines[x]")).to.equal(undefined);
  });

  it("finds the line of a place, of its nearest parent when it is not in the file, and of the resilience policy's root", () => {
    expect(lineOf(TEXT, ".engines[1].capabilities[0].name")).to.equal(7);
    expect(lineOf(TEXT, ".engines[0].spiffeId")).to.equal(4);
    expect(lineOf(TEXT, 'policy.capabilities["tools.lookup"].retry.maxAttempts')).to.equal(10);
    expect(lineOf("not json", ".version")).to.equal(undefined);
  });

  it("names the line in the error of a catalog file that fails its checks", () => {
    const dir = mkdtempSync(join(tmpdir(), "selene-policy-line-"));
    try {
      const file = join(dir, "engines.json");
      const text = readFileSync(policyPath("engines"), "utf8").replace('"name": "calc"', '"name": "Calc"');
      writeFileSync(file, text);
      const line = text.split("\n").findIndex((l) => l.includes('"Calc"')) + 1;
      let error: unknown;
      try {
        loadEngineCatalog(file);
      } catch (e) {
        error = e;
      }
      expect(error).to.be.instanceOf(PolicyError);
      expect((error as PolicyError).line).to.equal(line);
      expect((error as PolicyError).message).to.equal(
        `${file}:${line} at .engines[3].name: "Calc" is not a DNS label (a-z, 0-9, -)`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
