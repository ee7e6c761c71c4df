import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { expect } from "chai";
import {
  CapabilityKind,
  DescribeResponseSchema,
  InvokeResponseSchema,
} from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import type { AppliedCatalog, CatalogEvents, RefusedCatalog } from "../../../services/router/catalog-events.js";
import { createEngineChannels } from "../../../services/router/engine-channels.js";
import type { EngineClient } from "../../../services/router/engine-client.js";
import type { CapabilityChange } from "../../../services/router/engine-registry.js";
import { startLiveCatalog } from "../../../services/router/live-catalog.js";
import { createLastGoodAnswers } from "../../../services/router/resilience/last-good-answers.js";
import { CURRENT_CONTRACT_VERSION } from "../../../services/runtime/contract-version.js";
import { createLogger } from "../../../services/runtime/logger.js";
import { CAPABILITY_KINDS } from "../../../services/runtime/policy/engine-catalog.js";
import { policyPath } from "../../../services/runtime/policy/policy-file.js";
import { SeleneError } from "../../../services/runtime/selene-error.js";
import { countingMetrics } from "../../support/test-resilience.js";

// biome-ignore lint/suspicious/noExplicitAny: the tests edit the catalog as free JSON.
type Json = Record<string, any>;

/** A fake engine behind a client: what it describes, the calls it took, whether it was closed. */
interface FakeEngine {
  describes: Array<{ name: string; kind: CapabilityKind }>;
  readonly calls: string[];
  closed: boolean;
  /** Resolves a call held open (a turn in flight). */
  hold: Promise<void> | undefined;
  reconnect: (() => void) | undefined;
  /** Fails every call but Describe as unreachable. */
  failing: boolean;
}

const notesEntry = {
  name: "notes",
  spiffeId: "spiffe://selene.local/ns/selene/sa/notes",
  address: "127.0.0.1:50090",
  capabilities: [{ name: "notes.count", kind: "READ" }],
};

describe("live engine catalog", () => {
  let dir: string;
  let files: { catalog: string; resilience: string };
  let engines: Map<string, FakeEngine>;
  let changes: CapabilityChange[];
  let applied: AppliedCatalog[];
  let refused: RefusedCatalog[];

  const fakeClient = (name: string, address: string): EngineClient => {
    const engine: FakeEngine = {
      describes: [],
      calls: [],
      closed: false,
      hold: undefined,
      reconnect: undefined,
      failing: false,
    };
    engines.set(`${name}@${address}`, engine);
    // Each engine describes what the catalog gives it.
    engine.describes = [...(shipped.engines as Json[]), notesEntry]
      .filter((e) => e.name === name)
      .flatMap((e) => (e.capabilities as Json[]).map((c) => ({ name: c.name, kind: CAPABILITY_KINDS[c.kind]! })));
    return {
      async call(method: string, request: { capability?: string }) {
        if (engine.closed) throw new Error("closed");
        engine.calls.push(`${method} ${request.capability ?? ""}`.trim());
        if (method === "describe") {
          return create(DescribeResponseSchema, {
            supportedVersions: [CURRENT_CONTRACT_VERSION],
            capabilities: engine.describes.map((c) => ({ ...c, requiredFields: [] })),
          });
        }
        if (engine.failing) throw new SeleneError(ReasonCode.ENGINE_UNAVAILABLE, `${name} is unavailable`);
        await engine.hold;
        return create(InvokeResponseSchema, {});
      },
      ready: async () => true,
      onReconnect(listener: () => void) {
        engine.reconnect = listener;
      },
      close() {
        engine.closed = true;
      },
    } as unknown as EngineClient;
  };

  let shipped: Json;
  const writeCatalog = (json: Json) => writeFile(files.catalog, JSON.stringify(json));
  const shippedCatalog = async (): Promise<Json> => JSON.parse(await readFile(policyPath("engines"), "utf8"));

  async function start(drainMs = 60_000) {
    const events: CatalogEvents = {
      capability: (change) => changes.push(change),
      applied: (version) => applied.push(version),
      refused: (version) => refused.push(version),
    };
    let live: Awaited<ReturnType<typeof startLiveCatalog>> | undefined;
    live = await startLiveCatalog({
      files,
      address: (_engine, address) => address,
      channels: createEngineChannels({
        pkiDir: dir,
        validator: undefined as never,
        tls: {},
        drainMs,
        onReconnect: (engine, client) => live?.reconnected(engine, client),
        create: (engine, address) => fakeClient(engine.name, address),
      }),
      events,
      onCapability: events.capability,
      onBreaker: () => () => {},
      lastGood: createLastGoodAnswers(),
      metrics: countingMetrics(),
      logger: createLogger("test", "silent"),
      describeMs: 1000,
    });
    return live;
  }

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "selene-live-catalog-"));
    files = { catalog: join(dir, "engines.json"), resilience: join(dir, "resilience.json") };
    await writeFile(files.resilience, await readFile(policyPath("resilience"), "utf8"));
    shipped = await shippedCatalog();
    await writeCatalog(shipped);
    engines = new Map();
    changes = [];
    applied = [];
    refused = [];
  });
  afterEach(() => rm(dir, { recursive: true, force: true }));

  it("adds an engine by a catalog entry alone, its capabilities under the defaults of their kind", async () => {
    const live = await start();
    expect(live.routes.lookup("notes.count")).to.equal(undefined);
    const catalog = await shippedCatalog();
    catalog.engines.push(notesEntry);
    await writeCatalog(catalog);
    expect(await live.reload()).to.equal("applied");
    const notes = live.routes.lookup("notes.count");
    expect(notes).to.deep.include({ engine: "notes", kind: CapabilityKind.READ });
    await live.engines.call(
      notes!,
      "invoke",
      { capability: "notes.count" },
      { deadline: Date.now() + 1000, correlationId: "c" },
    );
    expect(engines.get("notes@127.0.0.1:50090")!.calls).to.deep.equal(["describe", "invoke notes.count"]);
    expect(applied).to.have.length(1);
    expect(applied[0]).to.deep.include({ added: ["notes"], removed: [] });
    live.close();
  });

  it("refuses a version that fails its checks, naming the place, and keeps the running one", async () => {
    const live = await start();
    const before = live.current();
    const catalog = await shippedCatalog();
    catalog.engines.push({ ...notesEntry, capabilities: [{ name: "tools.time", kind: "READ" }] });
    await writeCatalog(catalog);
    expect(await live.reload()).to.equal("refused");
    expect(refused).to.have.length(1);
    expect(refused[0]!.at).to.equal(".engines[4].capabilities[0].name");
    expect(refused[0]!.line).to.equal(1); // the test writes the catalog on one line
    expect(refused[0]!.error).to.include('"tools.time" is already at .engines[1].capabilities[1].name');
    expect(live.current()).to.equal(before);
    expect(live.routes.lookup("tools.time")).to.deep.include({ engine: "tools" });
    // A resilience policy that no longer agrees with the catalog is refused the same way.
    await writeCatalog(await shippedCatalog());
    const policy = JSON.parse(await readFile(files.resilience, "utf8")) as Json;
    policy.engines.weather = policy.engines.tools;
    await writeFile(files.resilience, JSON.stringify(policy));
    expect(await live.reload()).to.equal("refused");
    expect(refused[1]!.at).to.equal("policy.engines.weather");
    expect(applied).to.deep.equal([]);
    live.close();
  });

  it("does nothing when the files did not change", async () => {
    const live = await start();
    const before = live.current();
    await writeFile(files.catalog, JSON.stringify(await shippedCatalog(), null, 4));
    expect(await live.reload()).to.equal("unchanged");
    expect(live.current()).to.equal(before);
    live.close();
  });

  it("finishes a turn in flight on the engine it started with, and drains a removed engine's channel", async () => {
    const live = await start(50);
    const catalog = await shippedCatalog();
    catalog.engines.push(notesEntry);
    await writeCatalog(catalog);
    await live.reload();
    const notes = engines.get("notes@127.0.0.1:50090")!;
    let release = () => {};
    notes.hold = new Promise((resolve) => (release = resolve));
    const capability = live.routes.lookup("notes.count")!;
    const inFlight = live.engines.call(
      capability,
      "invoke",
      { capability: "notes.count" },
      { deadline: Date.now() + 5000, correlationId: "c" },
    );
    // The engine is removed while the call is in flight: new turns no longer find it ...
    await writeCatalog(await shippedCatalog());
    expect(await live.reload()).to.equal("applied");
    expect(live.routes.lookup("notes.count")).to.equal(undefined);
    expect(applied[1]).to.deep.include({ added: [], removed: ["notes"] });
    // ... the turn that looked it up still reaches it, and its channel closes after the drain time.
    release();
    await inFlight;
    expect(notes.calls).to.deep.equal(["describe", "invoke notes.count"]);
    expect(notes.closed, "open while a turn may still use it").to.equal(false);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(notes.closed).to.equal(true);
    // The engines both versions name kept their channel.
    expect(engines.get("tools@127.0.0.1:50062")!.closed).to.equal(false);
    live.close();
  });

  it("reads Describe again when an engine reconnects, withdrawing and restoring what it no longer agrees on", async () => {
    const live = await start();
    const calc = engines.get("calc@127.0.0.1:50064")!;
    expect(live.routes.lookup("calc.evaluate")).to.deep.include({ engine: "calc" });
    calc.describes = [];
    calc.reconnect!();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(live.routes.lookup("calc.evaluate")).to.equal(undefined);
    calc.describes = [{ name: "calc.evaluate", kind: CapabilityKind.READ }];
    calc.reconnect!();
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(live.routes.lookup("calc.evaluate")).to.deep.include({ engine: "calc" });
    const calcChanges = changes.filter((c) => c.engine === "calc");
    expect(calcChanges.map((c) => c.withdrawn ?? "restored")).to.deep.equal(["not_described", "restored"]);
    live.close();
  });
  it("makes an engine's open breaker due its probe when the engine's channel connects again", async () => {
    const live = await start();
    const calc = engines.get("calc@127.0.0.1:50064")!;
    const capability = live.routes.lookup("calc.evaluate")!;
    const invoke = (tenantId: string) =>
      live.engines.call(
        capability,
        "invoke",
        { envelope: { tenantId }, capability: "calc.evaluate" },
        { deadline: Date.now() + 1000, correlationId: "breaker" },
      );
    const reasonOf = (call: Promise<unknown>) =>
      call.then(
        () => "answered",
        (e: unknown) => (e instanceof SeleneError ? ReasonCode[e.reason] : String(e)),
      );
    calc.failing = true;
    for (let i = 0; i < 20 && live.current().breakers.state("calc") !== "open"; i++) await reasonOf(invoke("acme"));
    expect(live.current().breakers.state("calc")).to.equal("open");
    calc.failing = false;
    // Within its half-open time (the shipped 500 ms) the breaker refuses without calling the engine.
    const sent = calc.calls.length;
    expect(await reasonOf(invoke("globex"))).to.equal("ENGINE_CIRCUIT_OPEN");
    expect(calc.calls.length).to.equal(sent);

    calc.reconnect!();
    expect(await reasonOf(invoke("globex"))).to.equal("answered");
    expect(live.current().breakers.state("calc")).to.equal("closed");
    // acme's own breaker opened with the engine's fault: its next call is its probe, not a refusal.
    expect(await reasonOf(invoke("acme"))).to.equal("answered");
    expect(live.current().breakers.state("calc", "acme")).to.equal("closed");
    live.close();
  });
});
