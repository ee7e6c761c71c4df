import { readFileSync } from "node:fs";
import { expect } from "chai";
import { CapabilityKind } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { LOCAL_PORTS } from "../../../services/runtime/local-ports.js";
import {
  declaredCapabilities,
  engineAddresses,
  loadEngineCatalog,
  parseEngineCatalog,
} from "../../../services/runtime/policy/engine-catalog.js";
import { PolicyError, policyPath } from "../../../services/runtime/policy/policy-file.js";

// biome-ignore lint/suspicious/noExplicitAny: the tests edit the catalog as free JSON.
type Json = Record<string, any>;

const project = () => JSON.parse(readFileSync(policyPath("engines"), "utf8")) as Json;

/** The PolicyError's message when the catalog is refused, else "accepted". */
function refusal(json: unknown): string {
  try {
    parseEngineCatalog(json, "engines.json");
    return "accepted";
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    return e.message;
  }
}

describe("engine catalog", () => {
  it("accepts the project's catalog and lists its capabilities in file order", () => {
    const catalog = loadEngineCatalog();
    expect(catalog.engines.map((e) => e.name)).to.deep.equal(["nlp", "tools", "reminders", "calc"]);
    expect(declaredCapabilities(catalog)).to.deep.include(["reminders.create", "reminders", CapabilityKind.EFFECT]);
    expect(declaredCapabilities(catalog)[0]).to.deep.equal(["nlp.understand", "nlp", CapabilityKind.UNDERSTAND]);
    expect(catalog.digest).to.match(/^sha256:/);
  });

  it("gives the mesh's engines the local ports the launcher starts them on", () => {
    for (const engine of loadEngineCatalog().engines) {
      const ports = LOCAL_PORTS[engine.name as keyof typeof LOCAL_PORTS];
      expect(engine.address, engine.name).to.equal(`127.0.0.1:${ports.grpc}`);
    }
  });

  it("takes addresses from the catalog unless SELENE_<NAME>_ADDR overrides them", () => {
    const json = project();
    json.engines.push({
      name: "notes-engine",
      spiffeId: "spiffe://selene.local/ns/selene/sa/notes-engine",
      address: "127.0.0.1:50090",
      capabilities: [{ name: "notes.add", kind: "EFFECT" }],
    });
    const addresses = engineAddresses(parseEngineCatalog(json, "engines.json"), {
      SELENE_TOOLS_ADDR: "tools:7443",
      SELENE_NOTES_ENGINE_ADDR: "notes:7443",
    });
    expect(addresses.get("nlp")).to.equal("127.0.0.1:50061");
    expect(addresses.get("tools")).to.equal("tools:7443");
    expect(addresses.get("notes-engine")).to.equal("notes:7443");
  });

  const breaks: [string, (c: Json) => void, string][] = [
    ["an unknown key", (c) => (c.extra = 1), "engines.json at .extra: is not a known key"],
    ["another version", (c) => (c.version = 2), "engines.json at .version: must be 1, got 2"],
    ["no engines", (c) => (c.engines = []), "engines.json at .engines: must be a non-empty array"],
    ["a name that is no DNS label", (c) => (c.engines[1].name = "Tools"), 'at .engines[1].name: "Tools" is not'],
    [
      "an engine twice",
      (c) => (c.engines[3].name = "nlp"),
      'at .engines[3].name: "nlp" is already at .engines[0].name',
    ],
    [
      "a capability at two engines",
      (c) => (c.engines[3].capabilities[0].name = "tools.time"),
      'at .engines[3].capabilities[0].name: "tools.time" is already at .engines[1].capabilities[1].name',
    ],
    [
      "an unknown kind",
      (c) => (c.engines[2].capabilities[1].kind = "WRITE"),
      "at .engines[2].capabilities[1].kind: must be one of",
    ],
    [
      "a bad capability name",
      (c) => (c.engines[0].capabilities[0].name = "understand"),
      "at .engines[0].capabilities[0].name",
    ],
    [
      "no capabilities",
      (c) => (c.engines[0].capabilities = []),
      "at .engines[0].capabilities: must be a non-empty array",
    ],
    [
      "an address without a port",
      (c) => (c.engines[0].address = "localhost"),
      'at .engines[0].address: "localhost" is not host:port',
    ],
    [
      "a foreign trust domain",
      (c) => (c.engines[0].spiffeId = "spiffe://evil.example/ns/selene/sa/nlp"),
      "at .engines[0].spiffeId",
    ],
    [
      "another identity for a mesh workload",
      (c) => (c.engines[1].spiffeId = "spiffe://selene.local/ns/selene/sa/calc"),
      'at .engines[1].spiffeId: "tools" is spiffe://selene.local/ns/selene/sa/tools in the mesh',
    ],
    [
      "a second UNDERSTAND capability",
      (c) => (c.engines[1].capabilities[2].kind = "UNDERSTAND"),
      "at .engines[1].capabilities[2].kind: a second UNDERSTAND capability (the first is at .engines[0].capabilities[0])",
    ],
    ["an unknown engine key", (c) => (c.engines[2].port = 1), "at .engines[2].port: is not a known key"],
  ];
  for (const [what, edit, message] of breaks) {
    it(`refuses ${what}, naming the place`, () => {
      const json = project();
      edit(json);
      expect(refusal(json)).to.include(message);
    });
  }
});
