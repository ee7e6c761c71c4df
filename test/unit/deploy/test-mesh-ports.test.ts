import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { LOCAL_CONNECT_PORT, LOCAL_PORTS } from "../../../services/runtime/local-ports.js";

/**
 * Ports the CI machines' own services listen on (PostgreSQL, MariaDB, Redis, RabbitMQ with its
 * Erlang distribution and epmd ports, Mosquitto, NATS): a test mesh that lands on one of them
 * fails to start with EADDRINUSE, as the Connect boundary's mesh did on RabbitMQ's 25672.
 */
const MACHINE_PORTS = new Set([1883, 3306, 4222, 4369, 5432, 5672, 6222, 6379, 8222, 15672, 25672]);
/** The kernel's ephemeral range starts here: a listening port above it may meet an outgoing connection. */
const EPHEMERAL_START = 32768;

const E2E = join(process.cwd(), "test", "e2e");

/** The port offsets the end-to-end suites declare (`const OFFSET = -26500;` and the like). */
function declaredOffsets(): Array<{ file: string; offset: number }> {
  const found: Array<{ file: string; offset: number }> = [];
  for (const file of readdirSync(E2E).filter((f) => f.endsWith(".test.ts"))) {
    const text = readFileSync(join(E2E, file), "utf8");
    for (const match of text.matchAll(/const [A-Z_]*OFFSET = (-?\d+)/g)) {
      found.push({ file, offset: Number(match[1]) });
    }
  }
  return found;
}

function meshPorts(offset: number): number[] {
  const bases = Object.values(LOCAL_PORTS).flatMap((p) => [p.grpc, p.health, p.metrics]);
  return [...bases, LOCAL_CONNECT_PORT].map((port) => port + offset);
}

describe("the end-to-end meshes' ports", () => {
  it("finds the offsets the suites declare", () => {
    expect(declaredOffsets().length).to.be.greaterThan(5);
  });

  it("stay clear of the machine's own services and below the ephemeral range", () => {
    const clashes = declaredOffsets().flatMap(({ file, offset }) =>
      meshPorts(offset)
        .filter((port) => MACHINE_PORTS.has(port) || port >= EPHEMERAL_START || port < 1024)
        .map((port) => `${file}: offset ${offset} puts a mesh port on ${port}`),
    );
    expect(clashes).to.deep.equal([]);
  });

  it("catches an offset that lands on RabbitMQ's distribution port", () => {
    expect(meshPorts(-24500)).to.include(25672);
  });
});
