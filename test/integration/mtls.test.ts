import { X509Certificate } from "node:crypto";
import { EventEmitter, on } from "node:events";
import { mkdtemp, readFile, rename, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import * as tls from "node:tls";
import {
  type ChannelCredentials,
  Client,
  credentials,
  type handleUnaryCall,
  Server,
  type ServerCredentials,
  type ServiceDefinition,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import { expect } from "chai";
import { ensurePki } from "../../deploy/pki.js";
import { peerSpiffeId, peerSpiffeIdFromTlsSocket } from "../../services/runtime/peer-identity.js";
import { rawMethod } from "../../services/runtime/raw-service-definition.js";
import {
  type CredentialReload,
  clientCredentials,
  serverCredentials,
  serverIdentityCheck,
  tlsContextOptions,
} from "../../services/runtime/tls-credentials.js";
import { spiffeIdOf } from "../../services/runtime/workload-identities.js";
import { servedSerial } from "../support/served-serial.js";

const ECHO_PATH = "/test.Echo/Echo";
const identity = (bytes: Buffer): Buffer => bytes;
const echoService: ServiceDefinition = {
  Echo: rawMethod(ECHO_PATH),
};
// Each client gets its own connections, so no test reuses another's handshake. The name
// override sends SNI "nlp" instead of an IP address (which Node deprecates); the
// SPIFFE check ignores the host name either way.
const CHANNEL_OPTIONS = { "grpc.use_local_subchannel_pool": 1, "grpc.ssl_target_name_override": "nlp" };

interface EchoServer {
  readonly server: Server;
  readonly address: string;
  /** The peer SPIFFE id the handler saw, one entry per call that reached it. */
  readonly peers: Array<string | undefined>;
}

async function startEchoServer(creds: ServerCredentials): Promise<EchoServer> {
  const server = new Server();
  const peers: Array<string | undefined> = [];
  const handler: handleUnaryCall<Buffer, Buffer> = (call, callback) => {
    peers.push(peerSpiffeId(call));
    callback(null, call.request);
  };
  server.addService(echoService, { Echo: handler });
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync("127.0.0.1:0", creds, (err, bound) => (err ? reject(err) : resolve(bound)));
  });
  return { server, address: `127.0.0.1:${port}`, peers };
}

function stopServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.tryShutdown(() => resolve()));
}

/** One unary call on a fresh client, closed afterwards; resolves with the reply or the error. */
function echo(address: string, creds: ChannelCredentials): Promise<{ reply?: Buffer; error?: ServiceError }> {
  const client = new Client(address, creds, CHANNEL_OPTIONS);
  return new Promise<{ reply?: Buffer; error?: ServiceError }>((resolve) => {
    client.makeUnaryRequest(
      ECHO_PATH,
      identity,
      identity,
      Buffer.from("ping"),
      { deadline: Date.now() + 10_000 },
      (error, reply) => resolve(error ? { error } : { reply: reply! }),
    );
  }).finally(() => client.close());
}

describe("mtls", () => {
  const nlp = spiffeIdOf("nlp");
  const router = spiffeIdOf("router");
  let dir: string;
  let foreignDir: string;
  let engine: EchoServer;
  const reloads = new EventEmitter();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "selene-mtls-"));
    foreignDir = await mkdtemp(join(tmpdir(), "selene-mtls-foreign-"));
    await ensurePki({ dir });
    await ensurePki({ dir: foreignDir });
    const onReload = (event: CredentialReload) => reloads.emit("reload", event);
    engine = await startEchoServer(serverCredentials(dir, "nlp", { refreshIntervalMs: 25, onReload }));
  });

  after(async () => {
    await stopServer(engine.server);
    await rm(dir, { recursive: true, force: true });
    await rm(foreignDir, { recursive: true, force: true });
  });

  it("accepts the router's certificate and shows the handler the router's SPIFFE id", async () => {
    const result = await echo(engine.address, clientCredentials(dir, "router", nlp));
    expect(result.error?.code).to.equal(undefined);
    expect(result.reply?.toString()).to.equal("ping");
    expect(engine.peers.at(-1)).to.equal(router);
  });

  it("reads a TLS 1.3 connection's client certificate at its first call only", async () => {
    const client = new Client(engine.address, clientCredentials(dir, "router", nlp), CHANNEL_OPTIONS);
    const call = () =>
      new Promise<void>((resolve, reject) => {
        client.makeUnaryRequest(ECHO_PATH, identity, identity, Buffer.from("ping"), (error) =>
          error ? reject(error) : resolve(),
        );
      });
    const read = tls.TLSSocket.prototype.getPeerCertificate;
    let reads = 0;
    tls.TLSSocket.prototype.getPeerCertificate = function (this: tls.TLSSocket, ...args: [boolean?]) {
      reads++;
      return read.apply(this, args);
    } as typeof read;
    try {
      await call();
      const readsAtConnect = reads;
      const before = engine.peers.length;
      await call();
      await call();
      await call();
      expect(reads - readsAtConnect).to.equal(0);
      expect(engine.peers.slice(before)).to.deep.equal([router, router, router]);
    } finally {
      tls.TLSSocket.prototype.getPeerCertificate = read;
      client.close();
    }
  });

  it("refuses a client that presents no certificate before the handler runs", async () => {
    const calls = engine.peers.length;
    const { ca } = tlsContextOptions(dir, "router");
    const result = await echo(
      engine.address,
      credentials.createSsl(ca, null, null, {
        checkServerIdentity: serverIdentityCheck(nlp),
      }),
    );
    expect(result.error?.code).to.equal(status.UNAVAILABLE);
    expect(engine.peers.length).to.equal(calls);
  });

  it("refuses a client whose certificate another CA signed", async () => {
    const calls = engine.peers.length;
    const foreign = tlsContextOptions(foreignDir, "router");
    const { ca } = tlsContextOptions(dir, "router");
    const result = await echo(
      engine.address,
      credentials.createSsl(ca, foreign.key, foreign.cert, {
        checkServerIdentity: serverIdentityCheck(nlp),
      }),
    );
    expect(result.error?.code).to.equal(status.UNAVAILABLE);
    expect(engine.peers.length).to.equal(calls);
  });

  it("fails the connection when the server is not the SPIFFE id the client expects", async () => {
    const calls = engine.peers.length;
    const result = await echo(engine.address, clientCredentials(dir, "router", spiffeIdOf("tools")));
    expect(result.error?.code).to.equal(status.UNAVAILABLE);
    expect(engine.peers.length).to.equal(calls);
  });

  it("serves a rotated certificate on new connections without a restart", async () => {
    const material = tlsContextOptions(dir, "router");
    const before = await servedSerial(engine.address, material);
    expect(before).to.equal(new X509Certificate(await readFile(join(dir, "nlp.crt"))).serialNumber);

    const rotatedTo = waitForRotation();
    await ensurePki({ dir, rotate: true });
    const fresh = new X509Certificate(await readFile(join(dir, "nlp.crt"))).serialNumber;
    expect(fresh).to.not.equal(before);
    expect((await rotatedTo).serialNumber).to.equal(fresh);

    expect(await servedSerial(engine.address, tlsContextOptions(dir, "router"))).to.equal(fresh);
    const result = await echo(engine.address, clientCredentials(dir, "router", nlp));
    expect(result.reply?.toString()).to.equal("ping");
    expect(engine.peers.at(-1)).to.equal(router);
  });

  it("keeps serving the last good certificate while the key on disk does not match it", async () => {
    const material = tlsContextOptions(dir, "router");
    const serving = await servedSerial(engine.address, material);
    const rejected = waitForReload((event) => event.outcome === "rejected");
    // Written whole and renamed into place, as the PKI writes keys: a reload sees the other key, not a half-written file.
    await writeFile(join(dir, "nlp.key.next"), await readFile(join(dir, "tools.key")));
    await rename(join(dir, "nlp.key.next"), join(dir, "nlp.key"));
    expect((await rejected).error?.message).to.match(/private key does not match/);
    expect(await servedSerial(engine.address, material)).to.equal(serving);
    expect((await echo(engine.address, clientCredentials(dir, "router", nlp))).reply?.toString()).to.equal("ping");

    const repaired = waitForRotation();
    expect((await ensurePki({ dir })).issued.map((i) => i.name)).to.deep.equal(["nlp"]);
    const { serialNumber } = await repaired;
    expect(await servedSerial(engine.address, material)).to.equal(serialNumber);
  });

  /** Resolves with the first reload event that matches; listens from the call on. */
  async function waitForReload(matches: (event: CredentialReload) => boolean): Promise<CredentialReload> {
    for await (const [event] of on(reloads, "reload") as AsyncIterable<[CredentialReload]>) {
      if (matches(event)) return event;
    }
    throw new Error("the reload events ended");
  }

  /** Resolves with the reload event that put the current nlp.crt in service; listens from the call on. */
  async function waitForRotation(): Promise<CredentialReload> {
    for await (const [event] of on(reloads, "reload") as AsyncIterable<[CredentialReload]>) {
      if (event.outcome !== "rotated") continue;
      const current = new X509Certificate(await readFile(join(dir, "nlp.crt"))).serialNumber;
      if (event.serialNumber === current) return event;
    }
    throw new Error("the reload events ended");
  }

  describe("peerSpiffeIdFromTlsSocket", () => {
    const servers: tls.Server[] = [];

    after(async () => {
      await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
    });

    /** Starts a TLS server, connects once with `client`, and resolves with what the server saw. */
    async function peerSeenBy(
      serverOptions: tls.TlsOptions,
      client: tls.ConnectionOptions,
    ): Promise<string | undefined> {
      const server = tls.createServer(serverOptions);
      servers.push(server);
      const seen = new Promise<string | undefined>((resolve) => {
        server.once("secureConnection", (socket) => {
          resolve(peerSpiffeIdFromTlsSocket(socket));
          socket.destroy();
        });
      });
      await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
      const { port } = server.address() as { port: number };
      const socket = tls.connect({
        host: "127.0.0.1",
        port,
        ...client,
        checkServerIdentity: serverIdentityCheck(router),
      });
      socket.on("error", () => {}); // the server hangs up once it has looked
      try {
        return await seen;
      } finally {
        socket.destroy();
      }
    }

    it("returns the SPIFFE id of a verified client certificate", async () => {
      const seen = await peerSeenBy(
        { ...tlsContextOptions(dir, "router"), requestCert: true, rejectUnauthorized: true },
        tlsContextOptions(dir, "demo-app"),
      );
      expect(seen).to.equal(spiffeIdOf("demo-app"));
    });

    it("returns undefined for a certificate the server could not verify", async () => {
      const foreign = tlsContextOptions(foreignDir, "demo-app");
      const seen = await peerSeenBy(
        { ...tlsContextOptions(dir, "router"), requestCert: true, rejectUnauthorized: false },
        { ca: tlsContextOptions(dir, "router").ca, cert: foreign.cert, key: foreign.key },
      );
      expect(seen).to.equal(undefined);
    });
  });
});
