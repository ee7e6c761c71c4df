/**
 * A rolling upgrade, end to end: the previous release of the code (proto/releases/code-releases.json,
 * built from this repository's history by test/support/previous-release.ts) and today's, side by
 * side on one database.
 *
 *   1. The database is migrated by the previous release's own migration code and SQL files.
 *   2. Today's mesh starts on it without running today's migrations: today's code on the previous
 *      schema.
 *   3. The previous release's router starts as a separate process beside today's: its own ports,
 *      the same PKI, database, engines, outbox and audit service, and its own effect executor.
 *   4. Turns cross the two routers: a simulation made on one is confirmed on the other, both ways;
 *      one idempotency key retried on both gives one effect and one answer.
 *   5. Today's migrations run while both routers serve (expand), and the crossing turns run again:
 *      the previous code on today's schema.
 *   6. Every turn of both routers lands in one audit chain, which verifies.
 */
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import pg from "pg";
import { pino } from "pino";
import { type MeshProcess, MIGRATED_SERVICES, meshEnv, processEnv } from "../../deploy/mesh-processes.js";
import { type RunningMesh, startMesh } from "../../deploy/mesh-supervisor.js";
import { migrateAll } from "../../deploy/migrate.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import type { SeleneError } from "../../services/runtime/selene-error.js";
import { startTestMesh, type TestMesh } from "../support/mesh-fixture.js";
import { type BuiltRelease, buildPreviousRelease } from "../support/previous-release.js";
import { createTestDatabase } from "../support/test-database.js";
import { aTextTurn, aTurnClient, type TurnResponse } from "../support/turn-client.js";

/** Today's mesh. */
const OFFSET = -21500;
/** The previous release's router, beside today's. */
const PREVIOUS_ROUTER_OFFSET = -21000;

type Client = ReturnType<typeof aTurnClient>;

/** The migration files of a tree, as schema -> versions (NNNN_name without .sql). */
function migrationFiles(root: string): Record<string, string[]> {
  const dir = join(root, "deploy", "migrations");
  return Object.fromEntries(
    readdirSync(dir).map((schema) => [
      schema,
      readdirSync(join(dir, schema))
        .filter((f) => f.endsWith(".sql"))
        .map((f) => f.slice(0, -".sql".length))
        .sort(),
    ]),
  );
}

describe("rolling upgrade: the previous release's router and today's share one database", function () {
  this.timeout(300_000);
  let release: BuiltRelease;
  let mesh: TestMesh;
  let previousRouter: RunningMesh;
  let db: pg.Pool;
  let today: Client;
  let previous: Client;
  /** The correlation ids of the first turns each router served: each leaves a trail in the audit chain. */
  const served = new Map<Client, string[]>();
  const opts = () => ({ deadline: Date.now() + 15_000, correlationId: "rolling-upgrade" });

  before(async () => {
    release = buildPreviousRelease(process.cwd());
    const database = await createTestDatabase();
    try {
      await release.migrate(database.url, pino({ level: "silent" }));
    } catch (err) {
      await database.drop();
      throw err;
    }
    mesh = await startTestMesh(OFFSET, "info", {}, {}, database);
    db = new pg.Pool({ connectionString: mesh.layout.databaseUrl, max: 2 });
    // The previous router reads the same variables as today's: its own ports from them, every peer's
    // address and the PKI from the mesh's.
    const ports = meshEnv({ ...mesh.layout, portOffset: mesh.layout.portOffset + PREVIOUS_ROUTER_OFFSET - OFFSET });
    const routerPorts = Object.fromEntries(Object.entries(ports).filter(([k]) => k.startsWith("SELENE_ROUTER_")));
    const proc: MeshProcess = {
      name: "router",
      command: process.execPath,
      args: [release.routerMain],
      healthAddress: ports.SELENE_ROUTER_HEALTH_ADDR!,
      env: { ...processEnv(mesh.layout, "router"), ...routerPorts, SELENE_EXECUTOR_ID: "router-previous-release" },
    };
    previousRouter = await startMesh([proc], { env: mesh.env, logDir: join(mesh.logDir, "previous") });
    today = aTurnClient(mesh.routerAddress, mesh.pkiDir);
    previous = aTurnClient(ports.SELENE_ROUTER_ADDR!, mesh.pkiDir);
    served.set(today, []).set(previous, []);
  });
  after(async () => {
    today?.close();
    previous?.close();
    await db?.end();
    await previousRouter?.stop();
    await mesh?.stop();
  });

  async function simulate(client: Client, text: string): Promise<string> {
    const turn = aTextTurn(text);
    served.get(client)!.push(turn.envelope.correlationId);
    const r = await client.call("submitTurn", turn, opts());
    if (r.outcome.case !== "confirm") throw new Error(`expected CONFIRM, got ${r.outcome.case}`);
    return r.outcome.value.simulationId;
  }

  function confirm(client: Client, simulationId: string, key?: string): Promise<TurnResponse> {
    const { envelope } = aTextTurn("", key === undefined ? {} : { key });
    // A first turn leaves its trail; a replay of a key or a duplicate told to retry records nothing.
    if (key === undefined) served.get(client)!.push(envelope.correlationId);
    return client.call(
      "submitTurn",
      { envelope, input: { case: "confirmation", value: { simulationId, accept: true } } },
      opts(),
    );
  }

  async function reminders(text: string): Promise<number> {
    const { rows } = await db.query("SELECT count(*)::int AS n FROM reminders.reminders WHERE text = $1", [text]);
    return rows[0].n as number;
  }

  async function schemaVersions(): Promise<Record<string, string[]>> {
    const versions: Record<string, string[]> = {};
    for (const schema of Object.keys(migrationFiles(process.cwd()))) {
      const { rows } = await db.query(`SELECT version FROM ${schema}.schema_migrations ORDER BY version`);
      versions[schema] = rows.map((r) => r.version as string);
    }
    return versions;
  }

  /** A simulation on `from`, confirmed on `to`: EXECUTED, one reminder. */
  async function crossing(from: Client, to: Client, what: string): Promise<void> {
    const simulationId = await simulate(from, `remind me to ${what} at 8am`);
    const r = await confirm(to, simulationId);
    expect(r.outcome.case, JSON.stringify(r.outcome)).to.equal("executed");
    expect(await reminders(what)).to.equal(1);
  }

  it("runs two different releases: the previous router announces engines without negotiating versions", () => {
    const described = (log: string) =>
      readFileSync(log, "utf8")
        .split("\n")
        .filter((line) => line.includes('"engine described"'));
    const todays = described(join(mesh.logDir, "router.log"));
    const previousLines = described(join(mesh.logDir, "previous", "router.log"));
    expect(todays).to.have.length(4);
    expect(previousLines).to.have.length(4);
    for (const line of todays) expect(line).to.contain('"contract_version"');
    for (const line of previousLines) expect(line).to.not.contain('"contract_version"');
  });

  it("starts today's mesh on the previous release's schema, as its migrations left it", async () => {
    expect(await schemaVersions()).to.deep.equal(migrationFiles(release.dir));
    const r = await today.call("submitTurn", aTextTurn("What is the capital of France?"), opts());
    expect(r.outcome.case).to.equal("answer");
  });

  it("confirms on today's router a simulation the previous router made, and the other way", async () => {
    await crossing(previous, today, "call the plumber");
    await crossing(today, previous, "pay the rent");
  });

  it("gives one effect and one answer for one idempotency key retried across both routers", async () => {
    const simulationId = await simulate(today, "remind me to renew the passport at 9am");
    const results = await Promise.allSettled(
      Array.from({ length: 20 }, (_, i) => confirm(i % 2 === 0 ? today : previous, simulationId, "rollout-key")),
    );
    const effects = new Set<string>();
    for (const r of results) {
      // A duplicate waits for the first and replays it, or is told to retry: never runs twice.
      if (r.status === "rejected") expect((r.reason as SeleneError).reason).to.equal(ReasonCode.IDEMPOTENCY_IN_FLIGHT);
      else if (r.value.outcome.case === "executed") effects.add(r.value.outcome.value.effectId);
      else expect.fail(`a confirmation answered ${r.value.outcome.case}`);
    }
    expect(effects.size).to.equal(1);
    // Retried once more on each router, the key replays the same answer.
    const onToday = await confirm(today, simulationId, "rollout-key");
    const onPrevious = await confirm(previous, simulationId, "rollout-key");
    expect(onPrevious).to.deep.equal(onToday);
    expect(onToday.outcome.case).to.equal("executed");
    expect(await reminders("renew the passport")).to.equal(1);
  });

  it("runs today's migrations while both routers serve, then the previous router on today's schema", async () => {
    const previousFiles = migrationFiles(release.dir);
    const added = Object.fromEntries(
      MIGRATED_SERVICES.map((schema) => [
        schema,
        (migrationFiles(process.cwd())[schema] ?? []).filter((v) => !(previousFiles[schema] ?? []).includes(v)),
      ]),
    );
    // migrate refuses a file edited after it was applied: the previous release's files stand as they
    // were, and today's code applies only what it adds.
    const applied = await migrateAll(mesh.layout.databaseUrl, MIGRATED_SERVICES, pino({ level: "silent" }));
    expect(applied).to.deep.equal(added);
    expect(await schemaVersions()).to.deep.equal(migrationFiles(process.cwd()));
    await crossing(previous, today, "book the dentist");
    await crossing(today, previous, "return the library books");
  });

  it("keeps one audit chain for the turns of both routers, and it verifies", async () => {
    const verify = spawnSync(
      process.execPath,
      [join(process.cwd(), "dist/services/cli/selenectl.js"), "audit", "verify", "--tenant", "demo"],
      { env: { ...process.env, ...mesh.env }, encoding: "utf8" },
    );
    expect(verify.status, verify.stderr + verify.stdout).to.equal(0);
    expect(verify.stdout).to.match(/demo: intact, \d+ records/);
    for (const [client, name] of [
      [today, "today's router"],
      [previous, "the previous router"],
    ] as const) {
      const ids = served.get(client)!;
      const { rows } = await db.query(
        "SELECT count(DISTINCT correlation_id)::int AS n FROM audit.events WHERE tenant_id = 'demo' AND correlation_id = ANY($1)",
        [ids],
      );
      expect(rows[0].n, `turns of ${name} in the audit chain`).to.equal(ids.length);
    }
  });
});
