import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Client, type handleUnaryCall, Server, type ServiceDefinition, type ServiceError, status } from "@grpc/grpc-js";
import { expect } from "chai";
import { type StreamFaultProxy, startStreamFaultProxy } from "../../chaos/stream-fault-proxy.js";
import { ensurePki } from "../../deploy/pki.js";
import { peerSpiffeId } from "../../services/runtime/peer-identity.js";
import { rawMethod } from "../../services/runtime/raw-service-definition.js";
import { clientCredentials, serverCredentials } from "../../services/runtime/tls-credentials.js";
import { spiffeIdOf } from "../../services/runtime/workload-identities.js";

const identity = (bytes: Buffer): Buffer => bytes;
const service: ServiceDefinition = { Echo: rawMethod("/test.Echo/Echo"), Refuse: rawMethod("/test.Echo/Refuse") };

describe("chaos stream fault proxy (real mTLS, real HTTP/2)", () => {
  let dir: string;
  let server: Server;
  let proxy: StreamFaultProxy;
  let client: Client;
  const peers: Array<string | undefined> = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "selene-stream-proxy-"));
    await ensurePki({ dir });
    server = new Server();
    const echo: handleUnaryCall<Buffer, Buffer> = (call, callback) => {
      peers.push(peerSpiffeId(call));
      callback(null, Buffer.concat([Buffer.from("echo:"), call.request]));
    };
    const refuse: handleUnaryCall<Buffer, Buffer> = (_call, callback) =>
      callback({ code: status.INVALID_ARGUMENT, details: "no" });
    server.addService(service, { Echo: echo, Refuse: refuse });
    const port = await new Promise<number>((resolve, reject) =>
      server.bindAsync("127.0.0.1:0", serverCredentials(dir, "tools"), (e, p) => (e ? reject(e) : resolve(p))),
    );
    proxy = await startStreamFaultProxy("tools", `127.0.0.1:${port}`);
    proxy.arm(dir);
    client = new Client(proxy.address, clientCredentials(dir, "router", spiffeIdOf("tools")), {
      "grpc.ssl_target_name_override": "tools",
    });
  });

  after(async () => {
    client.close();
    await proxy.close();
    server.forceShutdown();
    await rm(dir, { recursive: true, force: true });
  });

  const call = (name: string, text: string, deadlineMs = 5000) =>
    new Promise<{ code: number; body?: string; details?: string }>((resolve) => {
      client.makeUnaryRequest(
        `/test.Echo/${name}`,
        identity,
        identity,
        Buffer.from(text),
        { deadline: Date.now() + deadlineMs },
        (e: ServiceError | null, r?: Buffer) =>
          resolve(e ? { code: e.code, details: e.details } : { code: status.OK, body: r!.toString() }),
      );
    });

  it("forwards calls untouched, end to end mTLS on both sides, and the engine's own errors", async () => {
    expect(await call("Echo", "a")).to.deep.equal({ code: status.OK, body: "echo:a" });
    expect((await call("Refuse", "b")).code).to.equal(status.INVALID_ARGUMENT);
    expect(peers.at(-1)).to.equal(spiffeIdOf("router"));
  });

  it("fails exactly every second call with UNAVAILABLE under its fault, the others reach the engine", async () => {
    const reached = peers.length;
    proxy.setFault({ failEvery: 2 });
    const codes: number[] = [];
    for (let i = 0; i < 6; i++) codes.push((await call("Echo", String(i))).code);
    expect(codes).to.deep.equal([0, 14, 0, 14, 0, 14]);
    expect(peers.length - reached).to.equal(3);
    expect(proxy.stats()).to.deep.equal({ streams: 6, failed: 3, delayed: 0, lost: 0 });
    proxy.setFault(undefined);
    for (let i = 0; i < 4; i++) expect((await call("Echo", "x")).code).to.equal(status.OK);
  });

  it("holds exactly every third call for the delay under a latency fault, and forwards it whole", async () => {
    proxy.setFault({ delayEvery: 3, delayMs: 300 });
    const took: number[] = [];
    for (let i = 0; i < 6; i++) {
      const started = Date.now();
      expect(await call("Echo", String(i))).to.deep.equal({ code: status.OK, body: `echo:${i}` });
      took.push(Date.now() - started);
    }
    const slow = took.map((ms) => ms >= 300);
    expect(slow).to.deep.equal([false, false, true, false, false, true]);
    expect(proxy.stats()).to.deep.equal({ streams: 6, failed: 0, delayed: 2, lost: 0 });
    proxy.setFault(undefined);
  });

  it("loses the answer of every second call of one method after the server did it, and forwards the others", async () => {
    const reached = peers.length;
    proxy.setFault({ loseAnswerEvery: 2, loseAnswerOf: "Echo" });
    const outcomes: Array<{ code: number; body?: string }> = [];
    for (let i = 0; i < 4; i++) {
      const r = await call("Echo", String(i));
      outcomes.push(r.code === status.OK ? { code: r.code, body: r.body! } : { code: r.code });
      expect((await call("Refuse", String(i))).code, "another method's calls are not counted").to.equal(
        status.INVALID_ARGUMENT,
      );
    }
    expect(outcomes).to.deep.equal([
      { code: status.OK, body: "echo:0" },
      { code: status.UNAVAILABLE },
      { code: status.OK, body: "echo:2" },
      { code: status.UNAVAILABLE },
    ]);
    expect(peers.length - reached, "every call reached the server, those whose answer was lost too").to.equal(4);
    expect(proxy.stats()).to.deep.equal({ streams: 8, failed: 0, delayed: 0, lost: 2 });
    proxy.setFault(undefined);
  });

  it("never forwards a held call the client gave up on meanwhile", async () => {
    const reached = peers.length;
    proxy.setFault({ delayEvery: 1, delayMs: 300 });
    expect((await call("Echo", "late", 100)).code).to.equal(status.DEADLINE_EXCEEDED);
    await new Promise((resolve) => setTimeout(resolve, 400));
    expect(peers.length).to.equal(reached);
    proxy.setFault(undefined);
  });
});
