/**
 * Each migration applied to the schema before it with data in it, as a rolling upgrade meets it:
 * a throwaway database is migrated up to the version just before the migration, rows written as
 * the code of that schema wrote them, then every later migration is applied; the rows must all be
 * there, unchanged, and the columns a migration added must hold their defaults.
 */
import { cp, mkdir, mkdtemp, readdir, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import pg from "pg";
import { pino } from "pino";
import { LEDGER_GUARD_SCHEMA, migrate, migrationVersions } from "../../deploy/migrate.js";
import { MigrationError } from "../../deploy/migration-error.js";
import { createTestDatabase, type TestDatabase } from "../support/test-database.js";

const MIGRATIONS = fileURLToPath(new URL("../../deploy/migrations", import.meta.url));
const silent = pino({ level: "silent" });
const DIGEST = `sha256:${"a".repeat(64)}`;

interface Upgrade {
  readonly service: string;
  /** The last migration of the schema the data was written under. */
  readonly from: string;
  /** Rows as the code of that schema wrote them. */
  readonly seed: string;
  /** Queries whose rows must be the same before and after the upgrade (the data kept). */
  readonly kept: readonly string[];
  /** Queries that must give these rows after it (what the new migrations added, at its defaults). */
  readonly after: ReadonlyArray<readonly [string, readonly unknown[]]>;
}

const OUTBOX_SEED = `
insert into outbox.effects (effect_id, tenant_id, idempotency_key, effect_type, simulation_id, payload,
  payload_digest, max_attempts, next_attempt_at, created_at, updated_at)
values ('e-1', 'acme', 'k-1', 'reminders.create', 's-1', '\\x7b7d', '${DIGEST}', 5, now(), now(), now());
insert into outbox.effects (effect_id, tenant_id, idempotency_key, effect_type, simulation_id, payload,
  payload_digest, state, max_attempts, next_attempt_at, result_id, created_at, updated_at, done_at)
values ('e-2', 'acme', 'k-2', 'reminders.create', 's-2', '\\x7b7d', '${DIGEST}', 'done', 5, now(), 'r-1', now(), now(), now());
insert into outbox.effect_events (effect_id, at, from_state, to_state, attempt)
values ('e-1', now(), null, 'pending', 0), ('e-2', now(), null, 'pending', 0), ('e-2', now(), 'leased', 'done', 1);`;

const OUTBOX_KEPT = [
  "select effect_id, tenant_id, idempotency_key, state, payload, payload_digest, result_id from outbox.effects order by effect_id",
  "select event_id, effect_id, from_state, to_state, attempt from outbox.effect_events order by event_id",
];

/** Records as the audit service appends them: the trigger chains them over the placeholders. */
const AUDIT_SEED = `
insert into audit.events (tenant_id, sequence, event_id, correlation_id, turn_id, gate, decision, reason, input_digest,
  payload, attributes, actor, contract_version, occurred_at, recorded_at, prev_hash, hash)
select 'acme', 0, 'router/t-' || n, 'c-1', 't-' || n, 1, 1, 0, case when n = 1 then '' else '${DIGEST}' end, '\\x7b7d',
  '{"intent": "kb.lookup"}', 'spiffe://selene.local/ns/selene/sa/router', '1.1', now(), now(), '${DIGEST}', '${DIGEST}'
from generate_series(1, 3) n order by n;`;

const ROUTER_SEED = `insert into router.simulations (simulation_id, tenant_id, user_id, capability, fields, effect_digest,
    preview, expires_at, turn_correlation_id)
  values ('s-1', 'acme', 'u-1', 'reminders.create', '{"text": "call mom"}', '${DIGEST}', '{}', now() + interval '5 minutes', 'c-1');`;

const UPGRADES: readonly Upgrade[] = [
  ...["0001_events", "0002_ledger_guard"].map((from) => ({
    service: "audit",
    from,
    seed: AUDIT_SEED,
    kept: [
      "select tenant_id, sequence, event_id, input_digest, prev_hash, hash from audit.events order by sequence",
      "select tenant_id, sequence, hash from audit.chain_heads",
    ],
    after: [
      [
        "select count(*)::int as n from pg_constraint where conrelid in ('audit.events'::regclass, " +
          "'audit.chain_heads'::regclass) and pg_get_constraintdef(oid) like '%{64}%'",
        [{ n: 0 }],
      ],
    ] as const,
  })),
  ...["0001_effects", "0002_narrow_pending_index", "0003_audit_relay", "0004_history_ledger"].map((from) => ({
    service: "outbox",
    from,
    seed: OUTBOX_SEED,
    kept: OUTBOX_KEPT,
    after: [
      [
        "select effect_id, correlation_id from outbox.effects order by effect_id",
        [
          { effect_id: "e-1", correlation_id: "" },
          { effect_id: "e-2", correlation_id: "" },
        ],
      ],
      ["select count(*)::int as n from outbox.effect_events where tx is not null", [{ n: 3 }]],
    ] as const,
  })),
  {
    service: "reminders",
    from: "0001_reminders",
    seed: `insert into reminders.reminders (id, tenant_id, user_id, text, due)
      values ('r-0123456789ab', 'acme', 'u-1', 'call mom', '+PT2H'), ('r-ba9876543210', 'other', 'u-2', 'water plants', 'tomorrow 09:00');
      insert into reminders.processed_keys (tenant_id, idempotency_key, request_digest, effect_id, result, committed_at)
      values ('acme', 'k-1', '${DIGEST}', 'r-0123456789ab', '{"reminder_id": "r-0123456789ab"}', now());`,
    kept: [
      "select id, tenant_id, user_id, text, due, status from reminders.reminders order by id",
      "select tenant_id, idempotency_key, effect_id, result from reminders.processed_keys order by tenant_id",
    ],
    after: [
      ["select relrowsecurity from pg_class where oid = 'reminders.reminders'::regclass", [{ relrowsecurity: true }]],
    ],
  },
  ...["0001_simulations", "0002_turn_records"].map((from) => ({
    service: "router",
    from,
    seed:
      ROUTER_SEED +
      (from === "0001_simulations"
        ? ""
        : `insert into router.turn_records (tenant_id, idempotency_key, request_digest, state, response, claimed_until,
             completed_at, expires_at)
           values ('acme', 'k-1', '${DIGEST}', 'done', '\\x0a00', now(), now(), now() + interval '1 day');`),
    kept: [
      "select simulation_id, tenant_id, capability, fields, effect_digest, status from router.simulations",
      ...(from === "0001_simulations"
        ? []
        : ["select tenant_id, idempotency_key, request_digest, state from router.turn_records"]),
    ],
    after: [
      [
        "select count(*)::int as n from pg_constraint where conrelid in ('router.simulations'::regclass, " +
          "'router.turn_records'::regclass) and pg_get_constraintdef(oid) like '%{64}%'",
        [{ n: 0 }],
      ],
    ] as const,
  })),
];

/** A migrations root holding the ledger guard's and `service`'s files up to and including `last`. */
async function rootUpTo(service: string, last: string): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), "selene-upgrade-"));
  await cp(join(MIGRATIONS, LEDGER_GUARD_SCHEMA), join(root, LEDGER_GUARD_SCHEMA), { recursive: true });
  await mkdir(join(root, service));
  for (const file of await readdir(join(MIGRATIONS, service))) {
    if (file.replace(/\.sql$/, "") <= last) await cp(join(MIGRATIONS, service, file), join(root, service, file));
  }
  return root;
}

/**
 * Migrates `service` with the files under `root`. The grants matrix is today's, so it names
 * objects a later migration creates: that refusal, after the files are applied, is expected.
 */
async function migrateTo(pool: pg.Pool, service: string, root: string): Promise<void> {
  try {
    await migrate(pool, service, silent, { migrationsRoot: root });
  } catch (e) {
    if (!(e instanceof MigrationError && e.code === "MIGRATION_GRANTS_MISMATCH")) throw e;
  }
}

describe("migrations over the previous schema with data in it", function () {
  this.timeout(60_000);

  it("covers every migration that follows another", async () => {
    const covered = new Set(UPGRADES.map((u) => `${u.service}/${u.from}`));
    const missing: string[] = [];
    for (const service of ["audit", "outbox", "reminders", "router"]) {
      const versions = await migrationVersions(service);
      for (const before of versions.slice(0, -1)) {
        if (!covered.has(`${service}/${before}`)) missing.push(`${service}/${before}`);
      }
    }
    expect(missing).to.deep.equal([]);
  });

  for (const upgrade of UPGRADES) {
    it(`${upgrade.service}: from ${upgrade.from}, every later migration keeps the rows`, async () => {
      let database: TestDatabase | undefined;
      let pool: pg.Pool | undefined;
      const root = await rootUpTo(upgrade.service, upgrade.from);
      try {
        database = await createTestDatabase();
        pool = new pg.Pool({ connectionString: database.url, max: 2 });
        await migrateTo(pool, upgrade.service, root);
        await pool.query(upgrade.seed);
        const before = await Promise.all(upgrade.kept.map(async (q) => (await pool!.query(q)).rows));
        const { applied } = await migrate(pool, upgrade.service, silent);
        expect(applied.length, "later migrations applied").to.be.greaterThan(0);
        const after = await Promise.all(upgrade.kept.map(async (q) => (await pool!.query(q)).rows));
        expect(after).to.deep.equal(before);
        expect(
          before.every((rows) => rows.length > 0),
          "the seed wrote rows",
        ).to.equal(true);
        for (const [query, rows] of upgrade.after)
          expect((await pool.query(query)).rows, query).to.deep.equal([...rows]);
      } finally {
        await pool?.end();
        await database?.drop();
        await rm(root, { recursive: true, force: true });
      }
    });
  }
});
