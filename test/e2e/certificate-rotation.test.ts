import { X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import { create, toBinary } from "@bufbuild/protobuf";
import { Client } from "@grpc/grpc-js";
import { expect } from "chai";
import { connectAddress, grpcAddress } from "../../deploy/mesh-processes.js";
import { ensurePki } from "../../deploy/pki.js";
import { DescribeRequestSchema } from "../../gen/es/selene/engine/v1/engine_pb.js";
import { SeleneError } from "../../services/runtime/selene-error.js";
import { clientCredentials, tlsContextOptions } from "../../services/runtime/tls-credentials.js";
import { spiffeIdOf } from "../../services/runtime/workload-identities.js";
import { aConnectClient } from "../support/connect-client.js";
import { startTestMesh, type TestMesh } from "../support/mesh-fixture.js";
import { servedSerial } from "../support/served-serial.js";
import { aTextTurn, aTurnClient } from "../support/turn-client.js";

const OFFSET = -23500;
const SERVERS = ["router", "nlp", "tools", "reminders", "calc", "outbox", "audit"] as const;

/** Who must present whose new certificate to whom: [the server whose log shows it, the caller]. */
const CLIENT_EDGES = [
  ["nlp", "router"],
  ["tools", "router"],
  ["reminders", "router"],
  ["outbox", "router"],
  ["audit", "router"],
  ["audit", "outbox"],
  ["audit", "nlp"],
  ["audit", "calc"],
] as const;

const serialOf = async (dir: string, name: string) =>
  new X509Certificate(await readFile(join(dir, `${name}.crt`))).serialNumber;

describe("mesh end to end: certificates rotate while turns flow", function () {
  this.timeout(180_000);
  let mesh: TestMesh;

  before(async () => {
    // Files re-read every 250 ms, connections ended after 2 s: the rotation shows within seconds.
    mesh = await startTestMesh(OFFSET, "info", { SELENE_CERT_REFRESH_MS: "250", SELENE_MAX_CONNECTION_AGE_MS: "2000" });
  });
  after(async () => {
    await mesh?.stop();
  });

  /** The serials each caller presented to `server`, from its "caller certificate" log lines. */
  function serialsSeenBy(server: string, caller: string): string[] {
    const log = readFileSync(join(mesh.logDir, `${server}.log`), "utf8");
    return log
      .split("\n")
      .filter((line) => line.includes('"caller certificate"'))
      .map((line) => JSON.parse(line) as { caller: string; serial_number: string })
      .filter((line) => line.caller === spiffeIdOf(caller))
      .map((line) => line.serial_number.toUpperCase());
  }

  /** A call to an engine presenting the demo app's certificate: refused, and recorded by the engine in the ledger. */
  function bypass(engine: "nlp" | "calc"): Promise<void> {
    const client = new Client(
      grpcAddress(engine, mesh.layout.portOffset),
      clientCredentials(mesh.pkiDir, "demo-app", spiffeIdOf(engine)),
      { "grpc.ssl_target_name_override": engine },
    );
    const request = toBinary(
      DescribeRequestSchema,
      create(DescribeRequestSchema, { envelope: { contractVersion: { major: 1, minor: 0 }, correlationId: "rot" } }),
    );
    return new Promise((resolve) =>
      client.makeUnaryRequest(
        "/selene.engine.v1.EngineService/Describe",
        (b: Buffer) => b,
        (b: Buffer) => b,
        Buffer.from(request),
        { deadline: Date.now() + 3000 },
        () => {
          client.close();
          resolve();
        },
      ),
    );
  }

  it("loses no turn, and every port and every client presents the new serial on new handshakes", async () => {
    const grpc = aTurnClient(mesh.routerAddress, mesh.pkiDir);
    const connect = aConnectClient(connectAddress(mesh.layout.portOffset), mesh.pkiDir);
    const failures: string[] = [];
    let turns = 0;
    let running = true;
    const grpcTurn = async (text: string) => {
      try {
        const response = await grpc.call("submitTurn", aTextTurn(text), {
          deadline: Date.now() + 10_000,
          correlationId: "rotation",
        });
        if (response.outcome.case === "confirm") {
          const { envelope } = aTextTurn("");
          const input = {
            case: "confirmation" as const,
            value: { simulationId: response.outcome.value.simulationId, accept: true },
          };
          const confirmed = await grpc.call(
            "submitTurn",
            { envelope, input },
            {
              deadline: Date.now() + 10_000,
              correlationId: "rotation",
            },
          );
          if (confirmed.outcome.case !== "executed") failures.push(`confirmation: ${confirmed.outcome.case}`);
        }
      } catch (e) {
        failures.push(e instanceof SeleneError ? `grpc: ${e.reasonName} ${e.message}` : String(e));
      }
    };
    const connectTurn = async () => {
      const turn = aTextTurn("convert 5 km to miles");
      const body = JSON.stringify({ envelope: turn.envelope, text: turn.input.value });
      const answer = await connect
        .post("/selene.os.v1.TurnService/SubmitTurn", body)
        .catch((e: unknown) => ({ status: 0, body: Buffer.from(String(e)) }));
      if (answer.status !== 200) failures.push(`connect: ${answer.status} ${answer.body.toString()}`);
    };
    const texts = ["What is the capital of France?", "calculate (3 + 4) * 2", "remind me to rotate at 9am"];
    const worker = async (n: number) => {
      for (let i = 0; running; i++) {
        if (n === 0) await connectTurn();
        else await grpcTurn(texts[(n + i) % texts.length]!);
        turns++;
      }
    };
    const workers = [0, 1, 2, 3].map(worker);
    try {
      await new Promise((resolve) => setTimeout(resolve, 1500));
      const before = Object.fromEntries(
        await Promise.all(SERVERS.map(async (s) => [s, await serialOf(mesh.pkiDir, s)])),
      );
      expect(serialsSeenBy("nlp", "router"), "the router's certificate before").to.deep.equal([before.router]);

      await ensurePki({ dir: mesh.pkiDir, rotate: true });
      const after = Object.fromEntries(
        await Promise.all(SERVERS.map(async (s) => [s, await serialOf(mesh.pkiDir, s)])),
      );
      const material = tlsContextOptions(mesh.pkiDir, "demo-app");
      const ports = [
        ...SERVERS.map((s) => [s, grpcAddress(s, mesh.layout.portOffset), after[s]] as const),
        ["router (connect)", connectAddress(mesh.layout.portOffset), after.router] as const,
      ];
      const pending = () => {
        const waiting: string[] = [];
        return (async () => {
          for (const [name, address, serial] of ports) {
            if ((await servedSerial(address, material)) !== serial) waiting.push(`${name} serves the old certificate`);
          }
          for (const [server, caller] of CLIENT_EDGES) {
            if (!serialsSeenBy(server, caller).includes(after[caller]!)) waiting.push(`${caller} -> ${server}`);
          }
          return waiting;
        })();
      };
      let waiting = await pending();
      for (const until = Date.now() + 60_000; waiting.length > 0 && Date.now() < until; waiting = await pending()) {
        // The only calls an engine makes to the audit service are records of the calls it refused.
        await Promise.all([bypass("nlp"), bypass("calc")]);
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
      expect(waiting, "still on the old certificates").to.deep.equal([]);
      for (const name of SERVERS) expect(after[name], name).to.not.equal(before[name]);
      // A few more turns on the new connections only.
      const now = turns;
      while (turns < now + 8) await new Promise((resolve) => setTimeout(resolve, 100));
    } finally {
      running = false;
      await Promise.all(workers);
      grpc.close();
      connect.close();
    }
    expect(failures, "failed turns").to.deep.equal([]);
    expect(turns).to.be.greaterThan(20);
  });
});
