/**
 * A fault-injecting TCP proxy: it sits between a client process and a server (the router and an
 * engine, a service and PostgreSQL) and forwards bytes untouched, so mTLS passes through it. Faults
 * change how it forwards, until cleared:
 *   latency + jitter  each chunk is held latency ± jitter ms (order kept);
 *   bandwidth         each direction is capped at N bytes per second;
 *   reset             every open connection is reset (RST), and new ones are reset on accept;
 *   blackhole         nothing moves either way, new connections included; what was sent is held
 *                     and delivered when the fault clears, as TCP's retransmissions would;
 *   half-open         the server side of every open connection vanishes without a FIN or RST: the
 *                     client's socket stays open and its bytes go nowhere; new connections work.
 */
import { connect, createServer, type Server, type Socket } from "node:net";

/** What the proxy does to traffic. */
export interface ProxyFault {
  readonly latencyMs?: number;
  readonly jitterMs?: number;
  readonly bandwidthBytesPerSec?: number;
  readonly mode?: "pass" | "reset" | "blackhole" | "half-open";
}

/** A running proxy. */
export interface FaultProxy {
  /** host:port to point the client at. */
  readonly address: string;
  readonly name: string;
  /** Applies a fault (replacing the previous one). */
  setFault(fault: ProxyFault): void;
  /** Back to plain forwarding; held bytes are delivered. */
  clear(): void;
  /** Open connections and connections accepted so far. */
  stats(): { open: number; accepted: number };
  close(): Promise<void>;
}

/** One direction of one connection: delays, caps and holds chunks, keeping their order. */
class Lane {
  private readonly queue: Array<{ readonly chunk: Buffer; at: number }> = [];
  private lastAt = 0;
  private timer: NodeJS.Timeout | undefined;
  dead = false;

  constructor(
    private readonly out: () => Socket | undefined,
    private readonly fault: () => ProxyFault,
  ) {}

  push(chunk: Buffer): void {
    if (this.dead) return;
    const f = this.fault();
    const jitter = (f.jitterMs ?? 0) * (Math.random() * 2 - 1);
    let at = Math.max(performance.now() + Math.max(0, (f.latencyMs ?? 0) + jitter), this.lastAt);
    if (f.bandwidthBytesPerSec !== undefined && f.bandwidthBytesPerSec > 0) {
      at = Math.max(at, this.lastAt) + (chunk.length / f.bandwidthBytesPerSec) * 1000;
    }
    this.lastAt = at;
    this.queue.push({ chunk, at });
    this.flush();
  }

  /** Delivers what is due, unless the proxy holds everything (blackhole) or no socket exists yet. */
  flush(): void {
    if (this.timer !== undefined) return;
    const socket = this.out();
    if (socket === undefined || this.fault().mode === "blackhole") return;
    const now = performance.now();
    while (this.queue.length > 0 && this.queue[0]!.at <= now) {
      if (!socket.destroyed) socket.write(this.queue.shift()!.chunk);
      else this.queue.shift();
    }
    const next = this.queue[0];
    if (next !== undefined) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.flush();
      }, next.at - now);
    }
  }

  /** The fault is gone: what is queued is due now (a healed link does not keep a backlog's old pace). */
  release(): void {
    const now = performance.now();
    for (const item of this.queue) item.at = now;
    this.lastAt = now;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.flush();
  }

  stop(): void {
    this.dead = true;
    this.queue.length = 0;
    if (this.timer !== undefined) clearTimeout(this.timer);
  }
}

interface Connection {
  readonly client: Socket;
  server: Socket | undefined;
  readonly up: Lane;
  readonly down: Lane;
}

/** Starts a proxy on 127.0.0.1 (port 0 picks a free port) forwarding to `target` (host:port). */
export async function startFaultProxy(name: string, target: string, listenPort = 0): Promise<FaultProxy> {
  const [host, portText] = [target.slice(0, target.lastIndexOf(":")), target.slice(target.lastIndexOf(":") + 1)];
  let fault: ProxyFault = { mode: "pass" };
  const connections = new Set<Connection>();
  let accepted = 0;

  const openServerSide = (conn: Connection) => {
    const server = connect({ host, port: Number(portText) });
    conn.server = server;
    server.setNoDelay(true);
    server.on("data", (chunk: Buffer) => conn.down.push(chunk));
    server.on("error", () => conn.client.destroy());
    server.on("close", () => {
      if (!conn.up.dead) conn.client.end();
    });
    conn.up.flush();
  };

  const proxy: Server = createServer((client) => {
    accepted++;
    client.setNoDelay(true);
    // Resets and vanished peers are this proxy's business: a socket error only ends that connection.
    client.on("error", () => {});
    if (fault.mode === "reset") {
      client.resetAndDestroy();
      return;
    }
    const conn: Connection = {
      client,
      server: undefined,
      up: new Lane(
        () => conn.server,
        () => fault,
      ),
      down: new Lane(
        () => client,
        () => fault,
      ),
    };
    connections.add(conn);
    client.on("data", (chunk: Buffer) => conn.up.push(chunk));
    client.on("error", () => conn.server?.destroy());
    client.on("close", () => {
      connections.delete(conn);
      conn.up.stop();
      conn.down.stop();
      conn.server?.destroy();
    });
    // Under a blackhole the connection is accepted but goes nowhere until the fault clears.
    if (fault.mode !== "blackhole") openServerSide(conn);
  });
  await new Promise<void>((resolve, reject) => {
    proxy.once("error", reject);
    proxy.listen({ host: "127.0.0.1", port: listenPort, exclusive: true }, () => resolve());
  });
  const port = (proxy.address() as { port: number }).port;

  return {
    address: `127.0.0.1:${port}`,
    name,
    setFault(next) {
      fault = next;
      for (const conn of connections) {
        if (next.mode === "reset") {
          conn.up.stop();
          conn.down.stop();
          conn.server?.resetAndDestroy();
          conn.client.resetAndDestroy();
        } else if (next.mode === "half-open") {
          // The server side vanishes; the client hears nothing, ever, on this connection.
          conn.up.stop();
          conn.down.stop();
          conn.server?.destroy();
        }
      }
      if (next.mode === "half-open") fault = { ...next, mode: "pass" };
    },
    clear() {
      fault = { mode: "pass" };
      for (const conn of connections) {
        if (conn.server === undefined && !conn.up.dead) openServerSide(conn);
        conn.up.release();
        conn.down.release();
      }
    },
    stats: () => ({ open: connections.size, accepted }),
    async close() {
      for (const conn of connections) {
        conn.up.stop();
        conn.down.stop();
        conn.client.destroy();
        conn.server?.destroy();
      }
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
    },
  };
}
