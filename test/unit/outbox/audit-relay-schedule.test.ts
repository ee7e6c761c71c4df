import { expect } from "chai";
import type pg from "pg";
import { startAuditRelay } from "../../../services/outbox/audit-relay.js";
import type { AuditClient } from "../../../services/runtime/audit-client.js";
import { createLogger } from "../../../services/runtime/logger.js";

/** A pool whose every read of outbox.effect_events finds nothing; `onRead` hears each read. */
function emptyOutbox(onRead: () => void): pg.Pool {
  const client = {
    query: async (sql: string) => {
      if (sql.includes("from outbox.audit_relay")) return { rows: [{ tx: "0", event_id: "0" }] };
      if (sql.includes("from outbox.effect_events")) onRead();
      return { rows: [] };
    },
    release: () => {},
  };
  return { connect: async () => client } as unknown as pg.Pool;
}

const audit = {} as AuditClient; // never called: there is nothing to relay
const logger = createLogger("outbox", "silent");
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe("audit relay schedule", () => {
  it("reads less and less often while the outbox is idle", async () => {
    let reads = 0;
    const relay = startAuditRelay(
      emptyOutbox(() => reads++),
      audit,
      logger,
      {
        actor: "spiffe://selene.local/ns/selene/sa/outbox",
        idleMs: 20,
        maxIdleMs: 160,
        callTimeoutMs: 1000,
      },
    );
    await sleep(800);
    await relay.stop();
    // Every 20 ms would be about 40 reads; 20, 20, 40, 80, 160, 160, ... is about 8.
    expect(reads).to.be.within(4, 12);
  });

  it("reads at once when poked after a long idle pause", async () => {
    let heard: (() => void) | undefined;
    let reads = 0;
    const relay = startAuditRelay(
      emptyOutbox(() => {
        reads++;
        heard?.();
      }),
      audit,
      logger,
      { actor: "spiffe://selene.local/ns/selene/sa/outbox", idleMs: 20, maxIdleMs: 60_000, callTimeoutMs: 1000 },
    );
    await sleep(300); // long past the first reads: the pause is now far longer than the test
    const before = reads;
    const read = new Promise<string>((resolve) => {
      heard = () => resolve("read");
    });
    relay.poke();
    const outcome = await Promise.race([read, sleep(1000).then(() => "no read")]);
    await relay.stop();
    expect(outcome).to.equal("read");
    expect(reads).to.equal(before + 1);
  });
});
