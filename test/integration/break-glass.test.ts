import { expect } from "chai";
import pg from "pg";
import { pino } from "pino";
import { ROLES } from "../../deploy/grants-matrix.js";
import { MIGRATED_SERVICES } from "../../deploy/mesh-processes.js";
import { migrateAll } from "../../deploy/migrate.js";
import { createAuditLedger } from "../../services/audit/audit-ledger.js";
import type { CliOutput } from "../../services/cli/command.js";
import { selenectl } from "../../services/cli/selenectl.js";
import { INSERT_AUDIT_EVENT } from "../support/audit-rows.js";
import { createOperatorLogin, type OperatorLogin } from "../support/operator-login.js";
import { createMigratedTestDatabase, type MigratedTestDatabase } from "../support/test-database.js";

/** Runs selenectl and returns its exit code and what it printed. */
async function run(argv: readonly string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const io: CliOutput = { out: (text) => out.push(text), err: (text) => err.push(text), errIsTty: false };
  return { code: await selenectl(argv, io), out, err };
}

interface AuditRow {
  event_id: string;
  actor: string;
  gate: number;
  attributes: Record<string, string>;
  payload: Buffer;
}

describe("break-glass", () => {
  let database: MigratedTestDatabase;
  let admin: pg.Pool;
  let operator: OperatorLogin;
  let session: pg.Client;

  before(async () => {
    database = await createMigratedTestDatabase();
    admin = new pg.Pool({ connectionString: database.url, max: 2 });
    operator = await createOperatorLogin();
    const audit = new pg.Client({ connectionString: database.roleUrl(ROLES.audit) });
    await audit.connect();
    for (const id of ["e-1", "e-2", "e-3"]) await audit.query(INSERT_AUDIT_EVENT, ["acme", id]);
    await audit.end();
    session = new pg.Client({ connectionString: operator.url(database.url) });
    await session.connect();
  });

  after(async () => {
    await session?.end();
    await admin?.end();
    await database?.drop();
    await operator?.drop();
  });

  const flags = () => ["--database-url", operator.url(database.url)];

  async function systemEvents(sessionId: string): Promise<AuditRow[]> {
    const rows = await admin.query<AuditRow>(
      `select event_id, actor, gate, attributes, payload from audit.events
       where tenant_id = '_system' and correlation_id = $1 order by sequence`,
      [`break-glass/${sessionId}`],
    );
    return rows.rows;
  }

  async function isMember(): Promise<boolean> {
    const rows = await admin.query<{ member: boolean }>("select pg_has_role($1, $2, 'member') as member", [
      operator.name,
      ROLES.breakGlass,
    ]);
    return rows.rows[0]!.member;
  }

  it("lends nothing before a session is open", async () => {
    expect(await isMember()).to.equal(false);
    const error = await session.query(`set role ${ROLES.breakGlass}`).catch((e: unknown) => e);
    expect(error).to.include({ code: "42501" });
  });

  it("refuses to open without a ticket, a reason or a sane TTL", async () => {
    expect((await run(["break-glass", "open", "--reason", "fix a row", "--ttl", "5m", ...flags()])).code).to.equal(2);
    const short = await run([
      "break-glass",
      "open",
      "--reason",
      "short",
      "--ticket",
      "INC-1",
      "--ttl",
      "5m",
      ...flags(),
    ]);
    expect(short.code).to.equal(1);
    expect(short.err.join("\n")).to.contain("22023");
    const long = await run([
      "break-glass",
      "open",
      "--reason",
      "a long enough reason",
      "--ticket",
      "INC-1",
      "--ttl",
      "5h",
      ...flags(),
    ]);
    expect(long.code).to.equal(1);
    expect(
      (await run(["break-glass", "open", "--reason", "x", "--ticket", "INC-1", "--ttl", "5 min", ...flags()])).code,
    ).to.equal(2);
    expect(await isMember()).to.equal(false);
  });

  it("journals and audits every row a session changes, and the session's opening and closing", async () => {
    const opened = await run([
      "break-glass",
      "open",
      "--reason",
      "repair a mis-recorded reason code",
      "--ticket",
      "INC-7",
      "--ttl",
      "10m",
      ...flags(),
    ]);
    expect(opened.code, opened.err.join("\n")).to.equal(0);
    const id = /^session (\S+) open until /.exec(opened.out[0] ?? "")?.[1];
    expect(id).to.be.a("string");
    expect(await isMember()).to.equal(true);
    expect(
      (
        await run([
          "break-glass",
          "open",
          "--reason",
          "a second session at once",
          "--ticket",
          "INC-8",
          "--ttl",
          "1m",
          ...flags(),
        ])
      ).code,
    ).to.equal(1);

    await session.query(`set role ${ROLES.breakGlass}`);
    await session.query("update audit.events set reason = 42 where event_id = 'e-2'");
    await session.query("delete from outbox.effect_events where false");
    // A session lends UPDATE and DELETE only: TRUNCATE stays refused, the break-glass tables stay sealed.
    expect(await session.query("truncate audit.events").catch((e: unknown) => e)).to.include({ code: "42501" });
    expect(await session.query("delete from break_glass.journal").catch((e: unknown) => e)).to.include({
      code: "42501",
    });
    await session.query("reset role");

    const journal = await admin.query<{
      session_id: string;
      operator: string;
      db_role: string;
      ledger: string;
      operation: string;
      before: { reason: number };
      after: { reason: number };
    }>("select session_id, operator, db_role, ledger, operation, before, after from break_glass.journal");
    expect(journal.rows).to.have.length(1);
    expect(journal.rows[0]).to.deep.include({
      session_id: id,
      operator: operator.name,
      db_role: ROLES.breakGlass,
      ledger: "audit.events",
      operation: "UPDATE",
    });
    expect(journal.rows[0]!.before.reason).to.equal(0);
    expect(journal.rows[0]!.after.reason).to.equal(42);

    const closed = await run(["break-glass", "close", ...flags()]);
    expect(closed.code).to.equal(0);
    expect(closed.out).to.deep.equal([`session ${id} closed`]);
    expect(await isMember()).to.equal(false);
    expect(await session.query(`set role ${ROLES.breakGlass}`).catch((e: unknown) => e)).to.include({ code: "42501" });
    // A login without a session of its own, the migrating superuser included, is still refused.
    expect(
      await admin.query("update audit.events set reason = 0 where event_id = 'e-2'").catch((e: unknown) => e),
    ).to.include({ code: "23001" });

    const events = await systemEvents(id!);
    expect(events.map((event) => event.event_id)).to.deep.equal([
      `break-glass/${id}/opened`,
      `break-glass/${id}/row/1`,
      `break-glass/${id}/closed`,
    ]);
    for (const event of events) expect(event).to.include({ actor: operator.name, gate: 12 });
    expect(events[0]!.attributes).to.include({
      action: "opened",
      ticket: "INC-7",
      reason: "repair a mis-recorded reason code",
    });
    expect(events[1]!.attributes).to.include({ action: "row_changed", ledger: "audit.events", operation: "UPDATE" });
    const change = JSON.parse(events[1]!.payload.toString("utf8")) as {
      before: { reason: number };
      after: { reason: number };
    };
    expect([change.before.reason, change.after.reason]).to.deep.equal([0, 42]);
    expect(events[2]!.attributes).to.include({ action: "closed", rows_changed: "1" });
    // The operator records chain like any other; the changed record breaks its own tenant's chain,
    // which a verifier names and the journal explains.
    const ledger = createAuditLedger(admin);
    expect(await ledger.verify("_system")).to.include({ intact: true, recordsChecked: 3n });
    expect(await ledger.verify("acme")).to.include({ intact: false, firstBadSequence: 2n });
  });

  it("stops writing at the TTL with nobody acting; the next deploy records the expiry", async () => {
    const opened = await run([
      "break-glass",
      "open",
      "--reason",
      "a session that runs out",
      "--ticket",
      "INC-9",
      "--ttl",
      "2s",
      ...flags(),
    ]);
    expect(opened.code, opened.err.join("\n")).to.equal(0);
    const id = /^session (\S+) /.exec(opened.out[0] ?? "")![1]!;
    const left = await admin.query<{ seconds: number }>(
      "select extract(epoch from expires_at - clock_timestamp())::float8 as seconds from break_glass.sessions where session_id = $1",
      [id],
    );
    await session.query(`set role ${ROLES.breakGlass}`);
    await session.query("update audit.events set reason = 7 where event_id = 'e-3'");
    // Wait on the database's own clock (no transaction held open: other suites' relays wait for
    // every older transaction), then write again.
    await session.query("select pg_sleep($1)", [Math.max(0, left.rows[0]!.seconds) + 0.1]);
    const late = await session
      .query("update audit.events set reason = 8 where event_id = 'e-3'")
      .catch((e: unknown) => e);
    expect(late).to.include({ code: "23001" });
    await session.query("reset role");
    const reason = await admin.query<{ reason: number }>("select reason from audit.events where event_id = 'e-3'");
    expect(reason.rows[0]!.reason).to.equal(7);

    // Nobody closes it: the next deploy's migrations record the expiry and take the membership back.
    await migrateAll(database.url, MIGRATED_SERVICES, pino({ level: "silent" }));
    expect(await isMember()).to.equal(false);
    const status = await run(["break-glass", "status", ...flags()]);
    expect(status.code).to.equal(0);
    expect(status.out.find((line) => line.startsWith(id)))
      .to.contain(" expired ")
      .and.to.contain("rows_changed=1");
    expect(await isMember()).to.equal(false);
    expect((await systemEvents(id)).map((event) => event.event_id)).to.deep.equal([
      `break-glass/${id}/opened`,
      `break-glass/${id}/row/2`,
      `break-glass/${id}/expired`,
    ]);
  });
});
