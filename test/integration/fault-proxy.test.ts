import { once } from "node:events";
import { type AddressInfo, connect, createServer, type Server, type Socket } from "node:net";
import { expect } from "chai";
import { type FaultProxy, startFaultProxy } from "../../chaos/fault-proxy.js";

/** A TCP echo server that also tells how many of its connections have closed. */
async function echoServer(): Promise<{ server: Server; address: string; closed: () => number }> {
  let closed = 0;
  const server = createServer((socket) => {
    socket.on("data", (chunk) => socket.write(chunk));
    socket.on("error", () => {});
    socket.on("close", () => closed++);
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  return { server, address: `127.0.0.1:${(server.address() as AddressInfo).port}`, closed: () => closed };
}

async function dial(address: string): Promise<Socket> {
  const [host, port] = address.split(":") as [string, string];
  const socket = connect({ host, port: Number(port) });
  socket.on("error", () => {});
  await once(socket, "connect");
  return socket;
}

/** Sends `text` and resolves with the echo and how long it took (ms), or undefined after `waitMs`. */
function roundTrip(socket: Socket, text: string, waitMs = 2000): Promise<{ echo: string; ms: number } | undefined> {
  const t0 = performance.now();
  return new Promise((resolve) => {
    let got = "";
    const timer = setTimeout(() => {
      socket.off("data", onData);
      resolve(undefined);
    }, waitMs);
    const onData = (chunk: Buffer) => {
      got += chunk.toString();
      if (got.length >= text.length) {
        clearTimeout(timer);
        socket.off("data", onData);
        resolve({ echo: got, ms: performance.now() - t0 });
      }
    };
    socket.on("data", onData);
    socket.write(text);
  });
}

describe("fault proxy", function () {
  this.timeout(20_000);
  let echo: Awaited<ReturnType<typeof echoServer>>;
  let proxy: FaultProxy;
  const sockets: Socket[] = [];
  const open = async () => {
    const s = await dial(proxy.address);
    sockets.push(s);
    return s;
  };

  beforeEach(async () => {
    echo = await echoServer();
    proxy = await startFaultProxy("test", echo.address);
  });
  afterEach(async () => {
    for (const s of sockets.splice(0)) s.destroy();
    await proxy.close();
    echo.server.close();
  });

  it("forwards bytes both ways untouched when no fault is set", async () => {
    const r = await roundTrip(await open(), "hello");
    expect(r?.echo).to.equal("hello");
  });

  it("delays each direction by the latency", async () => {
    const socket = await open();
    proxy.setFault({ latencyMs: 150 });
    const r = await roundTrip(socket, "slow");
    expect(r?.echo).to.equal("slow");
    expect(r!.ms).to.be.at.least(290); // 150 ms on the way in and 150 ms on the way out
    proxy.clear();
    expect((await roundTrip(socket, "fast"))!.ms).to.be.below(100);
  });

  it("caps the bandwidth", async () => {
    const socket = await open();
    proxy.setFault({ bandwidthBytesPerSec: 8000 });
    const r = await roundTrip(socket, "x".repeat(2000), 5000);
    expect(r?.echo).to.have.length(2000);
    expect(r!.ms).to.be.at.least(450); // 2000 bytes at 8000 B/s, each way
  });

  it("delivers a backlog at once when the bandwidth cap clears", async () => {
    const socket = await open();
    proxy.setFault({ bandwidthBytesPerSec: 1000 });
    const pending = roundTrip(socket, "y".repeat(3000), 5000); // 6 s at the cap
    await new Promise((r) => setTimeout(r, 300));
    proxy.clear();
    const r = await pending;
    expect(r?.echo).to.have.length(3000);
    expect(r!.ms).to.be.below(1500);
  });

  it("resets open connections and every new one during a reset", async () => {
    const socket = await open();
    // events.once would reject on the socket's ECONNRESET: wait for "close" itself.
    const errored = new Promise((resolve) => socket.on("close", resolve));
    proxy.setFault({ mode: "reset" });
    await errored;
    const [host, port] = proxy.address.split(":") as [string, string];
    const fresh = connect({ host, port: Number(port) });
    const err = await new Promise<NodeJS.ErrnoException>((resolve) => fresh.on("error", resolve));
    expect(err.code).to.equal("ECONNRESET");
    proxy.clear();
    expect((await roundTrip(await open(), "back"))?.echo).to.equal("back");
  });

  it("holds everything during a blackhole and delivers it when it clears", async () => {
    const socket = await open();
    proxy.setFault({ mode: "blackhole" });
    const pending = roundTrip(socket, "held", 3000);
    const during = roundTrip(await open(), "new", 3000);
    await new Promise((r) => setTimeout(r, 400));
    proxy.clear();
    const [held, fresh] = await Promise.all([pending, during]);
    expect(held?.echo).to.equal("held");
    expect(held!.ms).to.be.at.least(380);
    expect(fresh?.echo).to.equal("new");
  });

  it("leaves open connections half-open (the server side gone, the client unanswered) and serves new ones", async () => {
    const socket = await open();
    expect((await roundTrip(socket, "before"))?.echo).to.equal("before");
    proxy.setFault({ mode: "half-open" });
    await new Promise((r) => setTimeout(r, 100));
    expect(echo.closed()).to.equal(1);
    expect(socket.destroyed).to.equal(false);
    expect(await roundTrip(socket, "lost", 500)).to.equal(undefined);
    expect((await roundTrip(await open(), "fresh"))?.echo).to.equal("fresh");
  });
});
