import { expect } from "chai";
import pg from "pg";
import { ROLES } from "../../deploy/grants-matrix.js";
import { createTurnRecords, type TurnRecords } from "../../services/router/turn-records.js";
import { A_DIGEST, NOT_DIGESTS } from "../support/builders.js";
import { createMigratedTestDatabase, type MigratedTestDatabase } from "../support/test-database.js";

const OTHER_DIGEST = `sha256:${"cd".repeat(32)}`;

describe("turn records (turn-level idempotency)", () => {
  let database: MigratedTestDatabase;
  let pool: pg.Pool;
  let records: TurnRecords;

  before(async () => {
    database = await createMigratedTestDatabase(["router"]);
    // The router's own login, as the service connects.
    pool = new pg.Pool({ connectionString: database.roleUrl(ROLES.router), max: 8 });
    records = createTurnRecords(pool, 60_000);
  });
  after(async () => {
    await pool?.end();
    await database?.drop();
  });

  it("claims a new key once, replays its outcome, and refuses another request", async () => {
    expect(await records.claim("t1", "k1", A_DIGEST, 10_000)).to.deep.equal({ kind: "claimed" });
    expect((await records.claim("t1", "k1", A_DIGEST, 10_000)).kind).to.equal("in_flight");
    await records.complete("t1", "k1", { response: Uint8Array.from([1, 2, 3]) });
    const replay = await records.claim("t1", "k1", A_DIGEST, 10_000);
    expect(replay.kind).to.equal("replay");
    if (replay.kind === "replay") expect([...(replay.response ?? [])]).to.deep.equal([1, 2, 3]);
    expect(await records.claim("t1", "k1", OTHER_DIGEST, 10_000)).to.deep.equal({ kind: "mismatch" });
  });

  it("scopes keys by tenant", async () => {
    expect(await records.claim("t2", "k1", OTHER_DIGEST, 10_000)).to.deep.equal({ kind: "claimed" });
  });

  it("lets exactly one of many concurrent requests claim a key", async () => {
    const claims = await Promise.all(Array.from({ length: 50 }, () => records.claim("t1", "race", A_DIGEST, 10_000)));
    expect(claims.filter((c) => c.kind === "claimed")).to.have.length(1);
  });

  it("lets a lapsed claim (a crashed owner) be taken over by one request", async () => {
    await records.claim("t1", "lapsed", A_DIGEST, 1);
    await pool.query("SELECT pg_sleep(0.01)");
    const claims = await Promise.all(Array.from({ length: 10 }, () => records.claim("t1", "lapsed", A_DIGEST, 10_000)));
    expect(claims.filter((c) => c.kind === "claimed")).to.have.length(1);
  });

  it("releases a claim so that a retry runs again", async () => {
    await records.claim("t1", "released", A_DIGEST, 10_000);
    await records.release("t1", "released");
    expect(await records.claim("t1", "released", A_DIGEST, 10_000)).to.deep.equal({ kind: "claimed" });
  });

  it("purges records past their retention", async () => {
    const shortLived = createTurnRecords(pool, 1);
    await shortLived.claim("t3", "old", A_DIGEST, 10_000);
    await pool.query("SELECT pg_sleep(0.01)");
    expect(await shortLived.purgeExpired()).to.be.at.least(1);
    expect(await records.claim("t3", "old", OTHER_DIGEST, 10_000)).to.deep.equal({ kind: "claimed" });
  });

  it("stores a request digest only as sha256: and 64 lower-case hex digits (the database's check)", async () => {
    for (const digest of NOT_DIGESTS) {
      const error = await records.claim("t4", "digest", digest, 10_000).catch((e: unknown) => e);
      expect((error as { code?: string }).code, digest).to.equal("23514"); // check_violation
    }
    expect(await records.claim("t4", "digest", A_DIGEST, 10_000)).to.deep.equal({ kind: "claimed" });
  });

  it("gives each of many concurrent claims and completions its own verdict, a bad row failing only its own", async () => {
    const keys = Array.from({ length: 40 }, (_, i) => `many-${i}`);
    const claims = await Promise.all([
      ...keys.map((key) => records.claim("t5", key, A_DIGEST, 10_000)),
      records.claim("t5", "many-bad", NOT_DIGESTS[0]!, 10_000).catch((e: unknown) => e),
      records.claim("t5", "many-0", A_DIGEST, 10_000),
    ]);
    expect(claims.slice(0, keys.length)).to.deep.equal(keys.map(() => ({ kind: "claimed" })));
    expect((claims[keys.length] as { code?: string }).code).to.equal("23514");
    expect((claims[keys.length + 1] as { kind: string }).kind).to.equal("in_flight");
    await Promise.all(keys.map((key, i) => records.complete("t5", key, { response: Uint8Array.from([i]) })));
    const replays = await Promise.all(keys.map((key) => records.claim("t5", key, A_DIGEST, 10_000)));
    expect(replays.map((r) => (r.kind === "replay" ? [...(r.response ?? [])] : r.kind))).to.deep.equal(
      keys.map((_, i) => [i]),
    );
  });
});
