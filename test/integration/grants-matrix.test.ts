import { expect } from "chai";
import pg from "pg";
import { pino } from "pino";
import { GRANTS_MATRIX, matrixCells, ROLES } from "../../deploy/grants-matrix.js";
import { describeDrift, grantsDrift, readLiveCells } from "../../deploy/live-privileges.js";
import { MIGRATED_SERVICES } from "../../deploy/mesh-processes.js";
import { migrateAll } from "../../deploy/migrate.js";
import { createMigratedTestDatabase, type MigratedTestDatabase } from "../support/test-database.js";

const SCHEMAS = Object.keys(GRANTS_MATRIX);

describe("grants matrix", () => {
  let database: MigratedTestDatabase | undefined;
  let admin: pg.Client;

  before(async () => {
    // SELENE_GRANTS_CHECK_URL compares an existing database (such as one a person has altered)
    // instead of a freshly migrated one.
    const url = process.env.SELENE_GRANTS_CHECK_URL;
    if (!url) database = await createMigratedTestDatabase();
    admin = new pg.Client({ connectionString: url || database!.url });
    await admin.connect();
  });

  after(async () => {
    await admin?.end();
    await database?.drop();
  });

  it("matches the live catalog cell by cell: nothing missing, nothing extra, every object listed", async () => {
    expect(describeDrift(await grantsDrift(admin, SCHEMAS))).to.deep.equal([]);
    expect(await readLiveCells(admin, SCHEMAS)).to.have.length(matrixCells().length);
  });

  it("names a grant added by hand and a revoked one; the next migration puts both back", async function () {
    if (database === undefined) this.skip();
    await admin.query(`grant delete on audit.events to ${ROLES.sre}`);
    await admin.query(`grant select on outbox.effects to ${ROLES.router}`);
    await admin.query(`grant execute on function break_glass.sweep() to public`);
    await admin.query(`revoke insert on outbox.effect_events from ${ROLES.outbox}`);
    expect(describeDrift(await grantsDrift(admin, SCHEMAS))).to.have.members([
      `extra: ${ROLES.sre} DELETE on table audit.events`,
      `extra: ${ROLES.router} SELECT on table outbox.effects`,
      "extra: PUBLIC EXECUTE on function break_glass.sweep()",
      `missing: ${ROLES.outbox} INSERT on table outbox.effect_events`,
    ]);
    await migrateAll(database!.url, MIGRATED_SERVICES, pino({ level: "silent" }));
    expect(describeDrift(await grantsDrift(admin, SCHEMAS))).to.deep.equal([]);
  });

  it("names a table no row of the matrix lists", async function () {
    if (database === undefined) this.skip();
    await admin.query(`set role ${ROLES.owner}`);
    try {
      await admin.query("create table reminders.unlisted (id text primary key)");
      expect(describeDrift(await grantsDrift(admin, SCHEMAS))).to.deep.equal([
        "not in the grants matrix: reminders.unlisted",
      ]);
    } finally {
      await admin.query("drop table reminders.unlisted");
      await admin.query("reset role");
    }
  });

  it("hands the objects of a database migrated before the role model to the owner role", async function () {
    if (database === undefined) this.skip();
    // As the migrating login owned them before: the schema, a table and a function.
    await admin.query("alter schema reminders owner to current_user");
    await admin.query("alter table reminders.reminders owner to current_user");
    await admin.query("alter function outbox.refuse_effect_identity_change() owner to current_user");
    await migrateAll(database!.url, MIGRATED_SERVICES, pino({ level: "silent" }));
    expect(describeDrift(await grantsDrift(admin, SCHEMAS))).to.deep.equal([]);
  });

  it("enables row-level security on exactly the tables the matrix marks tenant-isolated", async () => {
    const marked = Object.entries(GRANTS_MATRIX).flatMap(([schema, grants]) =>
      Object.entries(grants.tables)
        .filter(([, table]) => table.tenantIsolated === true)
        .map(([table]) => `${schema}.${table}`),
    );
    const live = await admin.query<{ name: string }>(
      `select n.nspname || '.' || c.relname as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = any($1) and c.relrowsecurity order by 1`,
      [SCHEMAS],
    );
    expect(marked).to.have.length.greaterThan(0);
    expect(live.rows.map((row) => row.name)).to.have.members(marked);
  });

  it("leaves every object of every schema owned by the owner role", async () => {
    const foreign = await admin.query<{ object: string; owner: string }>(
      `select n.nspname || '.' || c.relname as object, pg_get_userbyid(c.relowner) as owner
       from pg_class c join pg_namespace n on n.oid = c.relnamespace
       where n.nspname = any($1) and c.relowner <> to_regrole($2)
       union all
       select n.nspname || '.' || p.proname, pg_get_userbyid(p.proowner)
       from pg_proc p join pg_namespace n on n.oid = p.pronamespace
       where n.nspname = any($1) and p.proowner <> to_regrole($2)
       union all
       select nspname, pg_get_userbyid(nspowner) from pg_namespace where nspname = any($1) and nspowner <> to_regrole($2)`,
      [SCHEMAS, ROLES.owner],
    );
    expect(foreign.rows).to.deep.equal([]);
  });
});
