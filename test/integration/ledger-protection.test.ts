import { expect } from "chai";
import pg from "pg";
import { GRANTS_MATRIX, ledgerTables, ROLES, type TablePrivilege } from "../../deploy/grants-matrix.js";
import { INSERT_AUDIT_EVENT } from "../support/audit-rows.js";
import { createOperatorLogin, type OperatorLogin } from "../support/operator-login.js";
import { createMigratedTestDatabase, type MigratedTestDatabase } from "../support/test-database.js";

/** SQLSTATE insufficient_privilege: refused by the grants. */
const NO_PRIVILEGE = "42501";
/** SQLSTATE restrict_violation: refused by the ledger guard. */
const GUARDED = "23001";
const WRITES: readonly TablePrivilege[] = ["INSERT", "UPDATE", "DELETE", "TRUNCATE"];

/** A value of each argument type the matrix's functions take. */
const SAMPLES: Readonly<Record<string, string>> = {
  text: "'x'",
  bytea: "'\\x00'",
  interval: "'1 second'",
  jsonb: "'{}'",
  "timestamp with time zone": "'2030-01-01T00:00:00Z'",
};

interface Attempt {
  readonly what: string;
  readonly sql: string;
}

/** Runs each attempt under a savepoint of one transaction (as `role` when given) and returns what did not fail with `code`. */
async function unrefused(url: string, role: string | undefined, attempts: readonly Attempt[], code: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const wrong: string[] = [];
  try {
    await client.query("begin");
    if (role !== undefined) await client.query(`set local role ${role}`);
    for (const attempt of attempts) {
      await client.query("savepoint attempt");
      const error = await client.query(attempt.sql).then(
        () => undefined,
        (err: { code?: string; message: string }) => err,
      );
      if (error?.code !== code)
        wrong.push(
          `${attempt.what} (${attempt.sql}): ${error === undefined ? "allowed" : `${error.code} ${error.message}`}`,
        );
      await client.query("rollback to savepoint attempt");
    }
  } finally {
    await client.query("rollback").catch(() => undefined);
    await client.end();
  }
  return wrong;
}

/** Every write to every table, and every schema CREATE, that the matrix does not grant `role`. */
function forbiddenWrites(role: string, firstColumns: ReadonlyMap<string, string>): Attempt[] {
  const attempts: Attempt[] = [];
  for (const [schema, grants] of Object.entries(GRANTS_MATRIX)) {
    attempts.push({ what: `CREATE on schema ${schema}`, sql: `create table ${schema}.probe (id integer)` });
    for (const [name, table] of Object.entries(grants.tables)) {
      const granted = table.grants[role as keyof typeof table.grants] ?? [];
      const relation = `${schema}.${name}`;
      const column = firstColumns.get(relation)!;
      const sql: Record<string, string> = {
        INSERT: `insert into ${relation} default values`,
        UPDATE: `update ${relation} set ${column} = ${column} where false`,
        DELETE: `delete from ${relation} where false`,
        TRUNCATE: `truncate ${relation}`,
      };
      for (const write of WRITES.filter((privilege) => !granted.includes(privilege))) {
        attempts.push({ what: `${write} on ${relation}`, sql: sql[write]! });
      }
    }
    for (const [signature, roles] of Object.entries(grants.functions)) {
      if (roles.includes(role as never)) continue;
      const args = signature.slice(signature.indexOf("(") + 1, -1);
      // Non-null arguments: Postgres folds a strict function of a null constant to null without calling it.
      const values =
        args === ""
          ? ""
          : args
              .split(",")
              .map((type) => `${SAMPLES[type] ?? "null"}::${type}`)
              .join(", ");
      attempts.push({
        what: `EXECUTE ${schema}.${signature}`,
        sql: `select ${schema}.${signature.slice(0, signature.indexOf("("))}(${values})`,
      });
    }
  }
  return attempts;
}

describe("protected ledgers and the grants matrix, enforced by Postgres", () => {
  let database: MigratedTestDatabase;
  let admin: pg.Pool;
  let operator: OperatorLogin;
  const firstColumns = new Map<string, string>();

  before(async () => {
    database = await createMigratedTestDatabase();
    admin = new pg.Pool({ connectionString: database.url, max: 2 });
    operator = await createOperatorLogin();
    const columns = await admin.query<{ relation: string; column: string }>(
      `select n.nspname || '.' || c.relname as relation, a.attname as column
       from pg_class c join pg_namespace n on n.oid = c.relnamespace join pg_attribute a on a.attrelid = c.oid
       where n.nspname = any($1)
         and a.attnum = (select min(b.attnum) from pg_attribute b
                         where b.attrelid = c.oid and b.attnum > 0 and not b.attisdropped and b.attidentity = '')`,
      [Object.keys(GRANTS_MATRIX)],
    );
    for (const row of columns.rows) firstColumns.set(row.relation, row.column);
  });

  after(async () => {
    await admin?.end();
    await database?.drop();
    await operator?.drop();
  });

  for (const role of [ROLES.router, ROLES.reminders, ROLES.outbox, ROLES.audit]) {
    it(`refuses every write the matrix does not grant, logged in as ${role}`, async () => {
      const attempts = forbiddenWrites(role, firstColumns);
      expect(attempts.length).to.be.greaterThan(40);
      expect(await unrefused(database.roleUrl(role), undefined, attempts, NO_PRIVILEGE)).to.deep.equal([]);
    });
  }

  it(`refuses every write to an operator holding ${ROLES.sre}`, async () => {
    const attempts = forbiddenWrites(ROLES.sre, firstColumns);
    expect(await unrefused(operator.url(database.url), undefined, attempts, NO_PRIVILEGE)).to.deep.equal([]);
  });

  it(`refuses what the matrix does not grant ${ROLES.breakGlass}, even inside an open session`, async () => {
    const client = new pg.Client({ connectionString: operator.url(database.url) });
    await client.connect();
    try {
      await client.query("select break_glass.open('probing the grants of the role', 'TEST-1', '1 minute')");
      const attempts = forbiddenWrites(ROLES.breakGlass, firstColumns);
      expect(await unrefused(operator.url(database.url), ROLES.breakGlass, attempts, NO_PRIVILEGE)).to.deep.equal([]);
    } finally {
      await client.query("select break_glass.close()");
      await client.end();
    }
  });

  describe("outside break-glass", () => {
    before(async () => {
      // A row in every ledger, each written the way it is written in production.
      const audit = new pg.Client({ connectionString: database.roleUrl(ROLES.audit) });
      await audit.connect();
      await audit.query(INSERT_AUDIT_EVENT, ["acme", "e-owner-1"]);
      await audit.end();
      const outbox = new pg.Client({ connectionString: database.roleUrl(ROLES.outbox) });
      await outbox.connect();
      await outbox.query(
        "insert into outbox.effect_events (effect_id, at, from_state, to_state, attempt) values ('fx-1', now(), null, 'pending', 0)",
      );
      await outbox.end();
      const op = new pg.Client({ connectionString: operator.url(database.url) });
      await op.connect();
      try {
        await op.query("select break_glass.open('a session to leave a journal row', 'TEST-2', '1 minute')");
        await op.query(`set role ${ROLES.breakGlass}`);
        await op.query("update audit.events set reason = 3 where event_id = 'e-owner-1'");
        await op.query("reset role");
      } finally {
        await op.query("select break_glass.close()");
        await op.end();
      }
    });

    it("has a row in every ledger to protect", async () => {
      for (const ledger of ledgerTables()) {
        const count = await admin.query<{ n: string }>(`select count(*)::text as n from ${ledger}`);
        expect(Number(count.rows[0]!.n), ledger).to.be.greaterThan(0);
      }
    });

    it("refuses the owner role every UPDATE, DELETE and TRUNCATE of a ledger", async () => {
      const attempts = ledgerTables().flatMap((ledger) => {
        const column = firstColumns.get(ledger)!;
        return [
          { what: `UPDATE ${ledger}`, sql: `update ${ledger} set ${column} = ${column}` },
          { what: `DELETE ${ledger}`, sql: `delete from ${ledger}` },
          { what: `TRUNCATE ${ledger}`, sql: `truncate ${ledger} cascade` },
        ];
      });
      expect(await unrefused(database.url, ROLES.owner, attempts, GUARDED)).to.deep.equal([]);
      // The superuser that migrates is stopped by the same triggers.
      expect(await unrefused(database.url, undefined, attempts, GUARDED)).to.deep.equal([]);
    });

    it("lets each writer append to its own ledger only", async () => {
      const audit = new pg.Client({ connectionString: database.roleUrl(ROLES.audit) });
      await audit.connect();
      try {
        await audit.query(INSERT_AUDIT_EVENT, ["acme", "e-owner-2"]);
        const chain = await audit.query<{ sequence: string }>(
          "select sequence::text from audit.events where tenant_id = 'acme' order by sequence",
        );
        expect(chain.rows.map((row) => row.sequence)).to.deep.equal(["1", "2"]);
      } finally {
        await audit.end();
      }
    });
  });
});
