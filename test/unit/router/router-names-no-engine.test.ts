import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { loadEngineCatalog } from "../../../services/runtime/policy/engine-catalog.js";

const ROUTER = fileURLToPath(new URL("../../../services/router", import.meta.url));

describe("the router's source", () => {
  it("names no engine and no capability of the catalog: both come from policy/engines.json", () => {
    const catalog = loadEngineCatalog();
    const names = catalog.engines.flatMap((e) => [e.name, ...e.capabilities.map((c) => c.name)]);
    const files = readdirSync(ROUTER, { recursive: true, encoding: "utf8" }).filter((f) => f.endsWith(".ts"));
    const found = files.flatMap((file) => {
      const source = readFileSync(join(ROUTER, file), "utf8");
      return names
        .filter((name) => source.includes(`"${name}"`) || source.includes(`'${name}'`))
        .map((n) => `${file}: ${n}`);
    });
    expect(files.length).to.be.greaterThan(10);
    expect(found).to.deep.equal([]);
  });
});
