import { randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { status } from "@grpc/grpc-js";
import { expect } from "chai";
import pg from "pg";
import { pino } from "pino";
import { startFaultProxy } from "../../chaos/fault-proxy.js";
import { startStreamFaultProxy } from "../../chaos/stream-fault-proxy.js";
import { ROLES } from "../../deploy/grants-matrix.js";
import { ensurePki } from "../../deploy/pki.js";
import { ReasonCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";
import { EffectState, OutboxService } from "../../gen/es/selene/outbox/v1/outbox_pb.js";
import { createEffectStore } from "../../services/outbox/effect-store.js";
import { outboxServiceImplementation } from "../../services/outbox/outbox-service.js";
import { DEFAULT_RETRY_POLICIES } from "../../services/outbox/retry-policy.js";
import { createOutboxClient } from "../../services/router/outbox-client.js";
import { createBoundaryValidator } from "../../services/runtime/boundary-validator.js";
import { sha256Digest } from "../../services/runtime/content-digest.js";
import { CURRENT_CONTRACT_VERSION } from "../../services/runtime/contract-version.js";
import { type RunningGrpcServer, startGrpcServer } from "../../services/runtime/grpc-server.js";
import { SeleneError } from "../../services/runtime/selene-error.js";
import { clientCredentials, serverCredentials } from "../../services/runtime/tls-credentials.js";
import { createUnaryClient, type UnaryClient } from "../../services/runtime/unary-client.js";
import { spiffeIdOf } from "../../services/runtime/workload-identities.js";
import { createMigratedTestDatabase, type MigratedTestDatabase } from "../support/test-database.js";

type OutboxClient = UnaryClient<(typeof OutboxService)["method"]>;

const SYSTEM = { contractVersion: CURRENT_CONTRACT_VERSION, correlationId: "outbox-test" };
let keys = 0;

/** An Enqueue request of tenant "acme" with a fresh key and a payload its digest covers. */
function anEnqueue() {
  keys += 1;
  const payload = randomBytes(24);
  return {
    envelope: {
      contractVersion: CURRENT_CONTRACT_VERSION,
      tenantId: "acme",
      userId: "user-1",
      correlationId: "outbox-test",
      turnId: `turn-${keys}`,
      idempotencyKey: `effect:sim-${keys}`,
    },
    effectType: "reminders.create",
    simulationId: `sim-${keys}`,
    payload,
    payloadDigest: sha256Digest(payload),
  };
}

/** Per-call options with a fresh 10 s deadline. */
function withDeadline() {
  return { deadline: Date.now() + 10_000, correlationId: "outbox-test" };
}

async function errorOf(promise: Promise<unknown>): Promise<SeleneError> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(error, "expected a SeleneError").to.be.instanceOf(SeleneError);
  return error as SeleneError;
}

describe("outbox service over mTLS", () => {
  let pkiDir: string;
  let database: MigratedTestDatabase;
  let pool: pg.Pool;
  let server: RunningGrpcServer;
  const clients: OutboxClient[] = [];
  let router: OutboxClient;
  let nlp: OutboxClient;
  let operator: OutboxClient;

  function clientAs(name: string): OutboxClient {
    const client = createUnaryClient(OutboxService, {
      address: `127.0.0.1:${server.port}`,
      serverName: "outbox",
      credentials: clientCredentials(pkiDir, name, spiffeIdOf("outbox")),
      validator: createBoundaryValidator(),
      faults: {
        unavailable: ReasonCode.DEPENDENCY_UNAVAILABLE,
        deadlineExceeded: ReasonCode.DEADLINE_EXCEEDED,
        invalidResponse: ReasonCode.INTERNAL,
      },
    });
    clients.push(client);
    return client;
  }

  before(async () => {
    pkiDir = await mkdtemp(join(tmpdir(), "selene-outbox-pki-"));
    await ensurePki({ dir: pkiDir });
    database = await createMigratedTestDatabase(["outbox"]);
    // The outbox's own login, as the service connects.
    pool = new pg.Pool({ connectionString: database.roleUrl(ROLES.outbox), max: 5 });
    const logger = pino({ level: "silent" });
    const store = createEffectStore(pool, DEFAULT_RETRY_POLICIES);
    server = await startGrpcServer({
      address: "127.0.0.1:0",
      healthAddress: "127.0.0.1:0",
      credentials: serverCredentials(pkiDir, "outbox"),
      services: [
        {
          service: OutboxService,
          implementation: outboxServiceImplementation(store, { validator: createBoundaryValidator(), logger }),
        },
      ],
      logger,
    });
    router = clientAs("router");
    nlp = clientAs("nlp");
    operator = clientAs("operator");
  });

  after(async () => {
    for (const client of clients) client.close();
    await server?.shutdown(1000);
    await pool?.end();
    await database?.drop();
    if (pkiDir !== undefined) await rm(pkiDir, { recursive: true, force: true });
  });

  /** Leases every due effect as the router. */
  async function leaseAll() {
    const response = await router.call(
      "lease",
      { envelope: SYSTEM, executorId: "router-test", maxEffects: 100, leaseDuration: durationFromMs(30_000) },
      withDeadline(),
    );
    return response.leases;
  }

  it("lets the router enqueue, lease, ack and read an effect", async () => {
    const request = anEnqueue();
    const enqueued = await router.call("enqueue", request, withDeadline());
    expect(enqueued.created).to.equal(true);
    expect(enqueued.effect).to.include({
      state: EffectState.PENDING,
      tenantId: "acme",
      effectType: "reminders.create",
    });
    const replay = await router.call("enqueue", request, withDeadline());
    expect(replay.created).to.equal(false);
    expect(replay.effect!.effectId).to.equal(enqueued.effect!.effectId);

    const leases = await leaseAll();
    const lease = leases.find((l) => l.effect!.effectId === enqueued.effect!.effectId);
    expect(lease, "the enqueued effect is leased").to.not.equal(undefined);
    expect(lease!.effect).to.include({ state: EffectState.LEASED, attempts: 1 });

    const acked = await router.call(
      "ack",
      { envelope: SYSTEM, effectId: lease!.effect!.effectId, leaseToken: lease!.leaseToken, resultId: "r-1" },
      withDeadline(),
    );
    expect(acked.effect).to.include({ state: EffectState.DONE, resultId: "r-1" });
    const read = await router.call(
      "getEffect",
      { envelope: request.envelope, effectId: lease!.effect!.effectId },
      withDeadline(),
    );
    expect(read.effect!.state).to.equal(EffectState.DONE);
    const otherTenant = { ...request.envelope, tenantId: "globex" };
    const hidden = await errorOf(
      router.call("getEffect", { envelope: otherTenant, effectId: lease!.effect!.effectId }, withDeadline()),
    );
    expect(hidden.reason).to.equal(ReasonCode.EFFECT_NOT_FOUND);
  });

  it("hands a new effect back leased to the router's executor when its Enqueue asks; a replay gets that lease only from that executor", async () => {
    const request = {
      ...anEnqueue(),
      lease: { executorId: "router-test", leaseDuration: durationFromMs(30_000) },
    };
    const enqueued = await router.call("enqueue", request, withDeadline());
    expect(enqueued.created).to.equal(true);
    expect(enqueued.effect).to.include({ state: EffectState.LEASED, attempts: 1 });
    expect(enqueued.leaseToken).to.match(/^[0-9a-f-]{36}$/);
    expect(enqueued.leaseExpiresAt).to.not.equal(undefined);
    const again = await router.call("enqueue", request, withDeadline());
    expect(again).to.deep.equal({ ...enqueued, created: false });
    const other = { ...request, lease: { ...request.lease, executorId: "router-other" } };
    const replay = await router.call("enqueue", other, withDeadline());
    expect(replay).to.include({ created: false, leaseToken: "" });
    expect(replay.leaseExpiresAt).to.equal(undefined);
    const leases = await leaseAll();
    expect(leases.map((l) => l.effect!.effectId)).to.not.include(enqueued.effect!.effectId);
    const acked = await router.call(
      "ack",
      { envelope: SYSTEM, effectId: enqueued.effect!.effectId, leaseToken: enqueued.leaseToken, resultId: "r-1" },
      withDeadline(),
    );
    expect(acked.effect).to.include({ state: EffectState.DONE, resultId: "r-1" });
    const tooShort = await errorOf(
      router.call(
        "enqueue",
        { ...anEnqueue(), lease: { executorId: "router-test", leaseDuration: durationFromMs(10) } },
        withDeadline(),
      ),
    );
    expect(tooShort.reason).to.equal(ReasonCode.FIELD_INVALID);
  });

  it("leases a new effect at Enqueue only when its answer goes out as built, with the token", async () => {
    const lease = { executorId: "router-test", leaseDuration: durationFromMs(30_000) };
    // A request declaring 1.0 gets its answer shaped to 1.0, which has no lease token: the effect
    // must stay PENDING for any executor's Lease instead of held by a lease nobody can use.
    const older = anEnqueue();
    const shaped = await router.call(
      "enqueue",
      { ...older, envelope: { ...older.envelope, contractVersion: { major: 1, minor: 0 } }, lease },
      withDeadline(),
    );
    expect(shaped.created).to.equal(true);
    expect(shaped.effect).to.include({ state: EffectState.PENDING, attempts: 0 });
    expect(shaped.leaseToken).to.equal("");
    // This build's client at the current version receives the answer as built: leased to it.
    const current = await router.call("enqueue", { ...anEnqueue(), lease }, withDeadline());
    expect(current.effect).to.include({ state: EffectState.LEASED, attempts: 1 });
    expect(current.leaseToken).to.match(/^[0-9a-f-]{36}$/);
  });

  it("retries the router's idempotent calls a broken link failed, never a lease", async () => {
    // Every second call on the link is answered UNAVAILABLE before it reaches the outbox.
    const proxy = await startStreamFaultProxy("outbox", `127.0.0.1:${server.port}`);
    proxy.arm(pkiDir);
    const client = createOutboxClient(proxy.address, pkiDir, createBoundaryValidator());
    try {
      proxy.setFault({ failEvery: 2 });
      const request = anEnqueue();
      // The 1st stream passes, the 2nd fails and is retried as the 3rd: the same key, one effect.
      const enqueued = await client.call("enqueue", request, withDeadline());
      const replay = await client.call("enqueue", request, withDeadline());
      expect(replay.effect!.effectId).to.equal(enqueued.effect!.effectId);
      expect(proxy.stats()).to.include({ streams: 3, failed: 1 });
      // The 4th stream (a lease) fails and is not retried; the 5th leases.
      const lease = () =>
        client.call(
          "lease",
          { envelope: SYSTEM, executorId: "router-retry", maxEffects: 100, leaseDuration: durationFromMs(30_000) },
          withDeadline(),
        );
      expect((await errorOf(lease())).reason).to.equal(ReasonCode.DEPENDENCY_UNAVAILABLE);
      const leased = (await lease()).leases.find((l) => l.effect!.effectId === enqueued.effect!.effectId)!;
      // The 6th stream (the ack) fails and is retried as the 7th: the effect is done, not left leased.
      const acked = await client.call(
        "ack",
        { envelope: SYSTEM, effectId: leased.effect!.effectId, leaseToken: leased.leaseToken, resultId: "r-2" },
        withDeadline(),
      );
      expect(acked.effect!.state).to.equal(EffectState.DONE);
      expect(proxy.stats()).to.include({ streams: 7, failed: 3 });
    } finally {
      client.close();
      await proxy.close();
    }
  });

  it("hands the lease back to grpc-js's retry of an Enqueue whose answer was lost after the outbox stored it", async () => {
    const proxy = await startStreamFaultProxy("outbox", `127.0.0.1:${server.port}`);
    proxy.arm(pkiDir);
    const client = createOutboxClient(proxy.address, pkiDir, createBoundaryValidator());
    try {
      proxy.setFault({ loseAnswerEvery: 1, loseAnswerOf: "Enqueue" });
      const request = { ...anEnqueue(), lease: { executorId: "router-lost", leaseDuration: durationFromMs(30_000) } };
      // Every Enqueue's answer is lost: grpc-js's 3 attempts all store-or-find the one effect.
      expect((await errorOf(client.call("enqueue", request, withDeadline()))).reason).to.equal(
        ReasonCode.DEPENDENCY_UNAVAILABLE,
      );
      expect(proxy.stats()).to.include({ lost: 3 });
      // The next answer arrives: the effect was stored by the first attempt, leased to this executor.
      proxy.setFault({ loseAnswerEvery: 2, loseAnswerOf: "Enqueue" });
      const replay = await client.call("enqueue", request, withDeadline());
      expect(replay.created).to.equal(false);
      expect(replay.effect).to.include({ state: EffectState.LEASED, attempts: 1 });
      expect(replay.leaseToken).to.match(/^[0-9a-f-]{36}$/);
      // The answer of the 2nd call is lost and grpc-js retries it as the 3rd: the same lease again.
      const retried = await client.call("enqueue", request, withDeadline());
      expect(retried.leaseToken).to.equal(replay.leaseToken);
      expect(proxy.stats()).to.include({ lost: 1 });
      const { rows } = await pool.query(
        "select state, attempts, lease_owner, lease_token from outbox.effects where effect_id = $1",
        [replay.effect!.effectId],
      );
      expect(rows).to.deep.equal([
        { state: "leased", attempts: 1, lease_owner: "router-lost", lease_token: replay.leaseToken },
      ]);
      const acked = await client.call(
        "ack",
        { envelope: SYSTEM, effectId: replay.effect!.effectId, leaseToken: replay.leaseToken, resultId: "r-lost" },
        withDeadline(),
      );
      expect(acked.effect!.state).to.equal(EffectState.DONE);
    } finally {
      client.close();
      await proxy.close();
    }
  });

  it("sends a call made while the channel reconnects once it is connected, instead of failing it", async () => {
    // Every connection reset for 2 s: the channel's reconnect backoff reaches its longest step.
    const proxy = await startFaultProxy("router-outbox", `127.0.0.1:${server.port}`);
    const client = createOutboxClient(proxy.address, pkiDir, createBoundaryValidator());
    try {
      proxy.setFault({ mode: "reset" });
      const during = await errorOf(client.call("enqueue", anEnqueue(), withDeadline()));
      expect(during.reason).to.equal(ReasonCode.DEPENDENCY_UNAVAILABLE);
      await new Promise((resolve) => setTimeout(resolve, 2000));
      proxy.clear();
      // The channel waits out its backoff before it tries again; the call waits with it.
      expect(await client.ready(Date.now()), "not connected yet when the call is made").to.equal(false);
      const started = Date.now();
      const enqueued = await client.call("enqueue", anEnqueue(), withDeadline());
      expect(enqueued.created).to.equal(true);
      expect(Date.now() - started).to.be.below(1000);
    } finally {
      client.close();
      await proxy.close();
    }
  });

  it("refuses a payload digest that does not cover the payload, and a reused key with another payload", async () => {
    const request = anEnqueue();
    const mismatch = await errorOf(
      router.call("enqueue", { ...request, payloadDigest: sha256Digest("other") }, withDeadline()),
    );
    expect(mismatch).to.include({ reason: ReasonCode.FIELD_INVALID, fieldPath: "payload_digest" });
    await router.call("enqueue", request, withDeadline());
    const other = randomBytes(24);
    const reused = await errorOf(
      router.call("enqueue", { ...request, payload: other, payloadDigest: sha256Digest(other) }, withDeadline()),
    );
    expect(reused).to.include({ reason: ReasonCode.IDEMPOTENCY_KEY_REUSED, status: status.FAILED_PRECONDITION });
  });

  it("denies the nlp identity every method with CALLER_NOT_ALLOWED", async () => {
    const enqueue = await errorOf(nlp.call("enqueue", anEnqueue(), withDeadline()));
    expect(enqueue).to.include({ reason: ReasonCode.CALLER_NOT_ALLOWED, status: status.PERMISSION_DENIED });
    const lease = await errorOf(
      nlp.call(
        "lease",
        { envelope: SYSTEM, executorId: "nlp", maxEffects: 1, leaseDuration: durationFromMs(1000) },
        withDeadline(),
      ),
    );
    expect(lease.reason).to.equal(ReasonCode.CALLER_NOT_ALLOWED);
    const list = await errorOf(nlp.call("listDeadLetters", { envelope: SYSTEM, pageSize: 10 }, withDeadline()));
    expect(list.reason).to.equal(ReasonCode.CALLER_NOT_ALLOWED);
  });

  it("lets the operator list, retry and discard dead letters, but not lease", async () => {
    const { effect } = await router.call("enqueue", anEnqueue(), withDeadline());
    const lease = (await leaseAll()).find((l) => l.effect!.effectId === effect!.effectId)!;
    await router.call(
      "nack",
      {
        envelope: SYSTEM,
        effectId: effect!.effectId,
        leaseToken: lease.leaseToken,
        error: "no such reminder",
        reason: ReasonCode.ENGINE_REJECTED,
        retryable: false,
      },
      withDeadline(),
    );

    const listed = await operator.call("listDeadLetters", { envelope: SYSTEM, tenantId: "acme" }, withDeadline());
    const dead = listed.effects.find((e) => e.effectId === effect!.effectId);
    expect(dead).to.include({ state: EffectState.DEAD_LETTER, lastError: "no such reminder" });

    const retried = await operator.call(
      "retryDeadLetter",
      { envelope: SYSTEM, effectId: effect!.effectId },
      withDeadline(),
    );
    expect(retried.effect).to.include({ state: EffectState.PENDING, attempts: 0 });
    const conflict = await errorOf(
      operator.call("discardDeadLetter", { envelope: SYSTEM, effectId: effect!.effectId, reason: "x" }, withDeadline()),
    );
    expect(conflict.reason).to.equal(ReasonCode.EFFECT_STATE_CONFLICT);

    const operatorLease = await errorOf(
      operator.call(
        "lease",
        { envelope: SYSTEM, executorId: "operator", maxEffects: 1, leaseDuration: durationFromMs(1000) },
        withDeadline(),
      ),
    );
    expect(operatorLease).to.include({ reason: ReasonCode.CALLER_NOT_ALLOWED, status: status.PERMISSION_DENIED });
    const routerList = await errorOf(router.call("listDeadLetters", { envelope: SYSTEM }, withDeadline()));
    expect(routerList.reason).to.equal(ReasonCode.CALLER_NOT_ALLOWED);
  });
});
