/**
 * `npm run bench:audit`: what one audit append costs PostgreSQL and the ledger, one at a time.
 * Appends BENCH_APPENDS (default 1500) turn-sized batches of six records (an answer turn's) to one
 * tenant's chain through the audit service's ledger (`createAuditLedger`) on one connection, after
 * 200 warm-up appends, and prints the CPU per append of the PostgreSQL backend (from
 * /proc/<pid>/stat, so the database must run on this host) and of this process, and the wall time.
 * One append in flight: no group commit, so each append is one statement and one commit. Then it
 * verifies the chain. Runs in a throwaway database `selene_bench_<random>`, dropped at the end.
 */
import { readFileSync } from "node:fs";
import { loadavg } from "node:os";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import pg from "pg";
import { pino } from "pino";
import { migrateAll } from "../deploy/migrate.js";
import { createScratchDatabase, LOCAL_ADMIN_URL } from "../deploy/scratch-database.js";
import { AuditEventSchema, Decision, Gate } from "../gen/es/selene/audit/v1/audit_pb.js";
import { createAuditLedger, type LedgerEntry } from "../services/audit/audit-ledger.js";

const APPENDS = Number(process.env.BENCH_APPENDS ?? 1500);
const WARMUP = 200;
const RECORDS = 6;
const TENANT = "bench";
const ROUTER = "spiffe://selene.local/ns/selene/sa/router";

const say = (line: string) => process.stdout.write(`${line}\n`);

/** One record of turn `turn`, shaped as the router's: attributes, an input digest, a 200-byte payload. */
function aRecord(turn: number, index: number): LedgerEntry {
  return {
    tenantId: TENANT,
    correlationId: `corr-${turn}`,
    turnId: `turn-${turn}`,
    contractVersion: "1.1",
    event: create(AuditEventSchema, {
      eventId: `router/turn-${turn}/${index}`,
      gate: Gate.UNDERSTAND,
      decision: Decision.PASS,
      actor: ROUTER,
      occurredAt: timestampFromMs(Date.now()),
      attributes: { intent: "kb.lookup", capability: "tools.lookup" },
      inputDigest: `sha256:${"ab".repeat(32)}`,
      payload: new Uint8Array(200).fill(index),
    }),
  };
}

/** CPU µs a process has used, user + system, from /proc (clock ticks of 10 ms). */
function processCpuUs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) * 10_000;
}

function ownCpuUs(): number {
  const used = process.cpuUsage();
  return used.user + used.system;
}

async function main(): Promise<number> {
  say(`bench:audit: ${APPENDS} appends of ${RECORDS} records, one at a time, load average ${loadavg()[0]!.toFixed(2)}`);
  const db = await createScratchDatabase("selene_bench", process.env.DATABASE_URL || LOCAL_ADMIN_URL);
  const pool = new pg.Pool({ connectionString: db.url, max: 1 });
  try {
    await migrateAll(db.url, ["audit"], pino({ level: "silent" }));
    const ledger = createAuditLedger(pool);
    const backend = (await pool.query<{ pid: number }>("select pg_backend_pid() as pid")).rows[0]!.pid;
    const batch = (turn: number) => Array.from({ length: RECORDS }, (_, i) => aRecord(turn, i));
    for (let turn = -WARMUP; turn < 0; turn++) await ledger.append(batch(turn));
    const database0 = processCpuUs(backend);
    const own0 = ownCpuUs();
    const wall0 = performance.now();
    for (let turn = 0; turn < APPENDS; turn++) await ledger.append(batch(turn));
    const wallUs = (performance.now() - wall0) * 1000;
    const per = (us: number) => (us / APPENDS).toFixed(0);
    say(
      `per append of ${RECORDS} records: postgres backend ${per(processCpuUs(backend) - database0)} µs CPU, ` +
        `this process ${per(ownCpuUs() - own0)} µs CPU, wall ${per(wallUs)} µs`,
    );
    const verdict = await ledger.verify(TENANT);
    say(`chain ${TENANT}: ${verdict.intact ? "intact" : "BROKEN"}, ${verdict.recordsChecked} records checked`);
    say(`load average at the end ${loadavg()[0]!.toFixed(2)}`);
    return verdict.intact ? 0 : 1;
  } finally {
    await pool.end();
    await db.drop();
  }
}

process.exit(await main());
