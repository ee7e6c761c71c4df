import { create } from "@bufbuild/protobuf";
import { expect } from "chai";
import { CapabilityKind, DescribeResponseSchema } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import type { EngineClient } from "../../../services/router/engine-client.js";
import { type CapabilityChange, createEngineRegistry } from "../../../services/router/engine-registry.js";
import { CURRENT_CONTRACT_VERSION } from "../../../services/runtime/contract-version.js";
import { createLogger } from "../../../services/runtime/logger.js";
import { parseEngineCatalog } from "../../../services/runtime/policy/engine-catalog.js";

const catalog = parseEngineCatalog(
  {
    version: 1,
    engines: [
      {
        name: "notes",
        spiffeId: "spiffe://selene.local/ns/selene/sa/notes",
        address: "127.0.0.1:50090",
        capabilities: [
          { name: "notes.add", kind: "EFFECT" },
          { name: "notes.list", kind: "READ" },
          { name: "notes.search", kind: "READ" },
        ],
      },
      {
        name: "quiet",
        spiffeId: "spiffe://selene.local/ns/selene/sa/quiet",
        address: "127.0.0.1:50091",
        capabilities: [{ name: "quiet.ping", kind: "READ" }],
      },
    ],
  },
  "engines.json",
);

/** A client whose Describe announces `capabilities`; undefined: the engine does not answer. */
function describing(capabilities?: Array<{ name: string; kind: CapabilityKind; requiredFields?: string[] }>) {
  return {
    async call(method: string) {
      if (method !== "describe" || capabilities === undefined) throw new Error("unavailable");
      return create(DescribeResponseSchema, {
        supportedVersions: [CURRENT_CONTRACT_VERSION],
        capabilities: capabilities.map((c) => ({ ...c, requiredFields: c.requiredFields ?? [] })),
      });
    },
    ready: async () => true,
    onReconnect() {},
    close() {},
  } as unknown as EngineClient;
}

describe("engine registry over the catalog", () => {
  it("routes what Describe and the catalog agree on and withdraws the rest, counting each", async () => {
    const withdrawn: Array<[string, string, CapabilityChange["withdrawn"]]> = [];
    const registry = createEngineRegistry(
      catalog,
      new Map([
        [
          "notes",
          describing([
            { name: "notes.add", kind: CapabilityKind.EFFECT, requiredFields: ["text"] },
            { name: "notes.list", kind: CapabilityKind.EFFECT }, // the catalog says READ
            { name: "notes.delete", kind: CapabilityKind.EFFECT }, // not in the catalog
          ]),
        ],
        ["quiet", describing(undefined)],
      ]),
      ({ engine, capability, withdrawn: reason }) => withdrawn.push([engine, capability, reason]),
    );
    await registry.describeAll(createLogger("test", "silent"), Date.now() + 1000);

    expect(registry.lookup("notes.add")).to.deep.include({ engine: "notes", requiredFields: ["text"] });
    expect(registry.lookup("notes.list")).to.equal(undefined);
    expect(registry.lookup("notes.search")).to.equal(undefined);
    expect(registry.lookup("notes.delete")).to.equal(undefined);
    // An engine that does not answer keeps the catalog's table.
    expect(registry.lookup("quiet.ping")).to.deep.include({ engine: "quiet", kind: CapabilityKind.READ });
    expect(withdrawn).to.deep.equal([
      ["notes", "notes.list", "kind"],
      ["notes", "notes.search", "not_described"],
    ]);
  });

  it("knows no capability and no engine outside the catalog", () => {
    const registry = createEngineRegistry(catalog, new Map([["notes", describing([])]]));
    expect(registry.lookup("nlp.understand")).to.equal(undefined);
    expect(() => registry.client("nlp")).to.throw('no client of catalog engine "nlp"');
  });
});
