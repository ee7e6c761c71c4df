/**
 * The calls `npm run bench:mesh` makes, each a `() => Promise<void>` that checks its answer: a
 * SubmitTurn to the router as the demo app, and a tools.lookup Invoke presenting the router's
 * certificate over grpc-js or over connect-node. Every call encodes its request and decodes its
 * response, so the load generator does the same work per call in every row. `counted` turns
 * failures into a tally instead of ending the run.
 *
 * The Invoke clients here stand in for the router on purpose (the tools engine admits only the
 * router's identity). The static mediation check scans services/ and deploy/ only: bench/ may do
 * this, production code may not.
 */
import { create, type DescMessage, fromBinary, type MessageShape, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createGrpcTransport } from "@connectrpc/connect-node";
import * as grpc from "@grpc/grpc-js";
import {
  AppendEventsRequestSchema,
  AppendEventsResponseSchema,
  AuditService,
  Decision,
  Gate,
} from "../gen/es/selene/audit/v1/audit_pb.js";
import {
  EngineService,
  type InvokeRequest,
  InvokeRequestSchema,
  type InvokeResponse,
  InvokeResponseSchema,
} from "../gen/es/selene/engine/v1/engine_pb.js";
import { SubmitTurnRequestSchema, SubmitTurnResponseSchema, TurnService } from "../gen/es/selene/os/v1/turn_pb.js";
import { CURRENT_CONTRACT_VERSION } from "../services/runtime/contract-version.js";
import { methodPath } from "../services/runtime/raw-service-definition.js";
import { clientCredentials, serverIdentityCheck, tlsContextOptions } from "../services/runtime/tls-credentials.js";
import { CORRELATION_KEY } from "../services/runtime/unary-service.js";
import { spiffeIdOf } from "../services/runtime/workload-identities.js";

let calls = 0;

/** An id no other call of this process has had: turns and audit events are idempotent by their ids. */
function nextCallId(): string {
  calls += 1;
  return `bench-${process.pid}-${calls}`;
}

/** The deadline of every call. */
const CALL_TIMEOUT_MS = 10_000;

/** A call of the benchmark. */
export type Call = () => Promise<void>;

/** A grpc-js channel to `serverName` at `address`, presenting `presentAs`'s certificate. */
export function grpcChannel(address: string, pkiDir: string, presentAs: string, serverName: string): grpc.Client {
  return new grpc.Client(address, clientCredentials(pkiDir, presentAs, spiffeIdOf(serverName)), {
    "grpc.ssl_target_name_override": serverName,
    "grpc.default_authority": serverName,
  });
}

function grpcUnary<I extends DescMessage, O extends DescMessage>(
  client: grpc.Client,
  path: string,
  input: I,
  output: O,
): (request: MessageShape<I>, correlationId: string) => Promise<MessageShape<O>> {
  const serialize = (message: MessageShape<I>) => {
    const bytes = toBinary(input, message);
    return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  };
  const deserialize = (bytes: Buffer) => fromBinary(output, bytes);
  return (request, correlationId) => {
    const metadata = new grpc.Metadata();
    metadata.set(CORRELATION_KEY, correlationId);
    return new Promise((resolve, reject) =>
      client.makeUnaryRequest(
        path,
        serialize,
        deserialize,
        request,
        metadata,
        { deadline: Date.now() + CALL_TIMEOUT_MS },
        (err, response) => (err ? reject(err) : resolve(response!)),
      ),
    );
  };
}

/** SubmitTurn of `text` as the demo app; every call has its own idempotency key, correlation and turn id. */
export function meshTurnCall(router: grpc.Client, text: string): Call {
  const submit = grpcUnary(
    router,
    methodPath(TurnService.method.submitTurn),
    SubmitTurnRequestSchema,
    SubmitTurnResponseSchema,
  );
  return async () => {
    const id = nextCallId();
    const request = create(SubmitTurnRequestSchema, {
      envelope: {
        contractVersion: CURRENT_CONTRACT_VERSION,
        tenantId: "demo",
        userId: "bench-user",
        correlationId: id,
        turnId: `turn-${id}`,
        idempotencyKey: id,
      },
      input: { case: "text", value: text },
    });
    const { outcome } = await submit(request, id);
    if (outcome.case !== "answer" || (outcome.value.provenance?.sources.length ?? 0) === 0) {
      throw new Error(`expected an answer with provenance, got ${outcome.case ?? "no outcome"}`);
    }
  };
}

/** The Invoke request of a tools.lookup. */
export function lookupRequest(query: string): InvokeRequest {
  return create(InvokeRequestSchema, {
    envelope: {
      contractVersion: CURRENT_CONTRACT_VERSION,
      tenantId: "demo",
      userId: "bench-user",
      correlationId: "bench-lookup",
      turnId: "turn-bench-lookup",
      idempotencyKey: "bench-lookup",
    },
    capability: "tools.lookup",
    input: { case: "read", value: { args: { query } } },
  });
}

function checkLookup(response: InvokeResponse): void {
  if (response.result.case !== "readResult" || (response.result.value.provenance?.sources.length ?? 0) === 0) {
    throw new Error(`expected a read result with provenance, got ${response.result.case ?? "no result"}`);
  }
}

/** tools.lookup over a grpc-js channel that presents the router's certificate (to the engine or to a proxy). */
export function grpcLookupCall(channel: grpc.Client, query: string): Call {
  const invoke = grpcUnary(channel, methodPath(EngineService.method.invoke), InvokeRequestSchema, InvokeResponseSchema);
  const request = lookupRequest(query);
  return async () => checkLookup(await invoke(request, "bench-lookup"));
}

/**
 * tools.lookup over a connect-node gRPC transport (mTLS as the router, the server pinned to the tools
 * identity as grpc-js pins it). The gRPC transport is HTTP/2 only, so it takes no `httpVersion`. An
 * idle session is unref'ed by connect, so there is nothing to close.
 */
export function connectLookupCall(baseUrl: string, pkiDir: string, query: string): Call {
  const { ca, cert, key } = tlsContextOptions(pkiDir, "router");
  const transport = createGrpcTransport({
    baseUrl,
    nodeOptions: { ca, cert, key, servername: "tools", checkServerIdentity: serverIdentityCheck(spiffeIdOf("tools")) },
  });
  const client = createClient(EngineService, transport);
  const request = lookupRequest(query);
  return async () => checkLookup(await client.invoke(request, { timeoutMs: CALL_TIMEOUT_MS }));
}

/** Failures of one row, by message. */
export class ErrorTally {
  readonly #byMessage = new Map<string, number>();
  #count = 0;

  get count(): number {
    return this.#count;
  }

  add(err: unknown): void {
    this.#count++;
    const message = (err instanceof Error ? err.message : String(err)).slice(0, 160);
    this.#byMessage.set(message, (this.#byMessage.get(message) ?? 0) + 1);
  }

  /** The most frequent messages, most frequent first. */
  top(n: number): Array<[string, number]> {
    return [...this.#byMessage].sort((a, b) => b[1] - a[1]).slice(0, n);
  }
}

/** `call`, with failures counted in `tally` instead of thrown. */
export function counted(call: Call, tally: ErrorTally): Call {
  return () => call().catch((err: unknown) => tally.add(err));
}

/**
 * AppendEvents of `events` events per call to the audit service, presenting the router's
 * certificate (the audit service admits the router as a writer): the events of a turn, in one
 * tenant's chain. Event ids are fresh per call.
 */
export function auditAppendCall(audit: grpc.Client, events: number): Call {
  const append = grpcUnary(
    audit,
    methodPath(AuditService.method.appendEvents),
    AppendEventsRequestSchema,
    AppendEventsResponseSchema,
  );
  const actor = spiffeIdOf("router");
  return async () => {
    const id = nextCallId();
    const request = create(AppendEventsRequestSchema, {
      envelope: { contractVersion: CURRENT_CONTRACT_VERSION, correlationId: id },
      entries: Array.from({ length: events }, (_, i) => ({
        tenantId: "demo",
        correlationId: id,
        turnId: `turn-${id}`,
        event: {
          eventId: `bench/${id}/${i + 1}`,
          gate: Gate.ANSWER,
          decision: Decision.PASS,
          actor,
          occurredAt: timestampFromMs(Date.now()),
          attributes: { capability: "tools.lookup", engine: "tools" },
        },
      })),
    });
    const { appended } = await append(request, id);
    if (appended.length !== events) throw new Error(`expected ${events} appended, got ${appended.length}`);
  };
}
