import { randomBytes } from "node:crypto";
import { readdirSync } from "node:fs";
import { cp, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import pg from "pg";
import { pino } from "pino";
import { roleDatabaseUrl } from "../../deploy/database-roles.js";
import { migrate, migrateAll } from "../../deploy/migrate.js";
import { MigrationError } from "../../deploy/migration-error.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";

const MIGRATIONS = fileURLToPath(new URL("../../deploy/migrations", import.meta.url));
/** A service's migration versions on disk, in order (the lists grow with the services). */
function onDisk(service: string): string[] {
  return readdirSync(join(MIGRATIONS, service))
    .filter((f) => f.endsWith(".sql"))
    .map((f) => f.slice(0, -4))
    .sort();
}
const ROUTER = onDisk("router");
const REMINDERS = onDisk("reminders");
const silent = pino({ level: "silent" });

/** A logger whose JSON lines land in `lines`. */
function capturingLogger(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: "info" }, { write: (line: string) => lines.push(JSON.parse(line)) });
  return { logger, lines };
}

async function versions(pool: pg.Pool, service: string): Promise<string[]> {
  const rows = await pool.query<{ version: string }>(
    `select version from ${pg.escapeIdentifier(service)}.schema_migrations order by version`,
  );
  return rows.rows.map((row) => row.version);
}

async function tableExists(pool: pg.Pool, name: string): Promise<boolean> {
  const rows = await pool.query<{ found: string | null }>("select to_regclass($1)::text as found", [name]);
  return rows.rows[0]?.found !== null;
}

async function codeOf(promise: Promise<unknown>): Promise<string | undefined> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error, "expected a MigrationError").to.be.instanceOf(MigrationError);
  return (error as MigrationError).code;
}

describe("migrate", () => {
  let database: TestDatabase;
  let pool: pg.Pool;
  let root: string;

  before(async () => {
    database = await createTestDatabase();
    pool = new pg.Pool({ connectionString: database.url, max: 4 });
    root = await mkdtemp(join(tmpdir(), "selene-migrations-"));
  });

  after(async () => {
    await pool?.end();
    await database?.drop();
    if (root) await rm(root, { recursive: true, force: true });
  });

  it("applies the router and reminders migrations, logging a line per migration", async () => {
    const { logger, lines } = capturingLogger();
    expect(await migrate(pool, "router", logger)).to.deep.equal({ applied: ROUTER });
    expect(await migrate(pool, "reminders", logger)).to.deep.equal({ applied: REMINDERS });
    for (const table of ["router.simulations", "reminders.reminders", "reminders.processed_keys"]) {
      expect(await tableExists(pool, table), table).to.equal(true);
    }
    expect(
      lines.filter((line) => line.msg === "migration applied").map((line) => [line.service, line.version]),
    ).to.deep.equal([
      // The ledger guard's schema goes first, whichever service migrates first.
      ["break_glass", "0001_ledger_guard"],
      ...ROUTER.map((version) => ["router", version]),
      ...REMINDERS.map((version) => ["reminders", version]),
    ]);
    expect(await versions(pool, "reminders")).to.deep.equal(REMINDERS);
  });

  it("applies nothing on a second run", async () => {
    expect(await migrate(pool, "router", silent)).to.deep.equal({ applied: [] });
    expect(await migrate(pool, "reminders", silent)).to.deep.equal({ applied: [] });
    expect(await versions(pool, "router")).to.deep.equal(ROUTER);
  });

  it("applies a new file and only that file", async () => {
    await cp(MIGRATIONS, root, { recursive: true });
    await writeFile(join(root, "reminders", "0902_notes.sql"), "create table reminders.notes (id text primary key);\n");
    expect(await migrate(pool, "reminders", silent, { migrationsRoot: root })).to.deep.equal({
      applied: ["0902_notes"],
    });
    expect(await versions(pool, "reminders")).to.deep.equal([...REMINDERS, "0902_notes"]);
  });

  it("rolls a failing migration back and records nothing", async () => {
    await writeFile(
      join(root, "reminders", "0903_broken.sql"),
      "create table reminders.half_done (id text);\nselect no_such_function();\n",
    );
    expect(await codeOf(migrate(pool, "reminders", silent, { migrationsRoot: root }))).to.equal("MIGRATION_FAILED");
    expect(await tableExists(pool, "reminders.half_done")).to.equal(false);
    expect(await versions(pool, "reminders")).to.deep.equal([...REMINDERS, "0902_notes"]);
    await rm(join(root, "reminders", "0903_broken.sql"));
  });

  it("refuses to run when an applied file changed, before applying anything new", async () => {
    await writeFile(join(root, "reminders", "0902_notes.sql"), "create table reminders.notes (id text);\n");
    await writeFile(join(root, "reminders", "0904_more.sql"), "create table reminders.more (id text);\n");
    const error = await migrate(pool, "reminders", silent, { migrationsRoot: root }).catch((err: unknown) => err);
    expect(error).to.be.instanceOf(MigrationError);
    expect(error).to.include({ code: "MIGRATION_CHECKSUM_MISMATCH", service: "reminders", version: "0902_notes" });
    expect(await tableExists(pool, "reminders.more")).to.equal(false);
    expect(await versions(pool, "reminders")).to.deep.equal([...REMINDERS, "0902_notes"]);
  });

  it("refuses a badly named file and an unknown service", async () => {
    await writeFile(join(root, "router", "2_oops.sql"), "select 1;\n");
    expect(await codeOf(migrate(pool, "router", silent, { migrationsRoot: root }))).to.equal("MIGRATION_INVALID_FILE");
    expect(await codeOf(migrate(pool, "nobody", silent))).to.equal("MIGRATION_UNKNOWN_SERVICE");
    expect(await codeOf(migrate(pool, "Bad-Name; drop", silent))).to.equal("MIGRATION_UNKNOWN_SERVICE");
  });

  it("applies each file exactly once when several processes migrate at once", async () => {
    const fresh = await createTestDatabase();
    const pools = [1, 2, 3, 4].map(() => new pg.Pool({ connectionString: fresh.url, max: 1 }));
    try {
      const results = await Promise.all(
        pools.flatMap((each) => [migrate(each, "reminders", silent), migrate(each, "router", silent)]),
      );
      const applied = results.flatMap((result) => result.applied).sort();
      expect(applied).to.deep.equal([...REMINDERS, ...ROUTER].sort());
      expect(await versions(pools[0]!, "reminders")).to.deep.equal(REMINDERS);
      expect(await versions(pools[0]!, "router")).to.deep.equal(ROUTER);
    } finally {
      await Promise.all(pools.map((each) => each.end()));
      await fresh.drop();
    }
  });

  it("migrates several services from a URL with migrateAll", async () => {
    const fresh = await createTestDatabase();
    try {
      expect(await migrateAll(fresh.url, ["router", "reminders"], silent)).to.deep.equal({
        router: ROUTER,
        reminders: REMINDERS,
      });
      expect(await migrateAll(fresh.url, ["router", "reminders"], silent)).to.deep.equal({ router: [], reminders: [] });
    } finally {
      await fresh.drop();
    }
  });

  it("names the privilege a login lacks before changing anything", async () => {
    const fresh = await createTestDatabase();
    const plain = `selene_test_plain_${randomBytes(4).toString("hex")}`;
    const roleMaker = `selene_test_maker_${randomBytes(4).toString("hex")}`;
    await pool.query(`create role ${plain} login`);
    await pool.query(`create role ${roleMaker} login createrole`);
    try {
      const asPlain = await migrateAll(roleDatabaseUrl(fresh.url, plain), ["router"], silent).catch((e: unknown) => e);
      expect(asPlain).to.be.instanceOf(MigrationError);
      expect(asPlain).to.include({ code: "MIGRATION_PRIVILEGE_MISSING", service: "router" });
      expect((asPlain as Error).message)
        .to.contain(`role "${plain}"`)
        .and.contain("CREATEROLE");
      const asMaker = await migrateAll(roleDatabaseUrl(fresh.url, roleMaker), ["router"], silent).catch(
        (e: unknown) => e,
      );
      expect(asMaker).to.include({ code: "MIGRATION_PRIVILEGE_MISSING" });
      expect((asMaker as Error).message)
        .to.contain("CREATE on the database")
        .and.not.contain("CREATEROLE");
      const check = new pg.Client({ connectionString: fresh.url });
      await check.connect();
      const schemas = await check.query("select 1 from pg_namespace where nspname in ('router', 'break_glass')");
      await check.end();
      expect(schemas.rowCount).to.equal(0);
    } finally {
      await fresh.drop();
      await pool.query(`drop role ${plain}`);
      await pool.query(`drop role ${roleMaker}`);
    }
  });
});
