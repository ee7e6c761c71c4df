/**
 * An OTLP/HTTP traces receiver inside the bench process: the mesh's span exporters are pointed at
 * it (OTEL_EXPORTER_OTLP_TRACES_ENDPOINT), and it keeps the spans of the traces the load sampled,
 * so the report can say where a turn's time went. It reads the JSON encoding, which is what the
 * OTLP/HTTP exporter the services use sends.
 */
import { once } from "node:events";
import { createServer, type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { gunzipSync } from "node:zlib";

/** One finished span, as the breakdown needs it. */
export interface ReceivedSpan {
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId: string;
  /** The process that recorded it: the service.name resource attribute without "selene-". */
  readonly service: string;
  readonly name: string;
  /** OTLP span kind: 1 internal, 2 server, 3 client. */
  readonly kind: number;
  /** Unix epoch, ns (as numbers: microsecond precision is all the breakdown needs). */
  readonly startNs: number;
  readonly endNs: number;
  readonly attributes: Readonly<Record<string, string | number | boolean>>;
}

/** A running receiver. */
export interface SpanReceiver {
  /** The URL to export to (…/v1/traces). */
  readonly url: string;
  /** The spans received so far of the traces `wanted` holds. */
  spansOf(wanted: ReadonlySet<string>): ReceivedSpan[];
  close(): Promise<void>;
}

type OtlpValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind?: number;
  startTimeUnixNano: string | number;
  endTimeUnixNano: string | number;
  attributes?: Array<{ key: string; value: OtlpValue }>;
}
interface OtlpRequest {
  resourceSpans?: Array<{
    resource?: { attributes?: Array<{ key: string; value: OtlpValue }> };
    scopeSpans?: Array<{ spans?: OtlpSpan[] }>;
  }>;
}

function attributeValue(v: OtlpValue): string | number | boolean {
  if (v.stringValue !== undefined) return v.stringValue;
  if (v.intValue !== undefined) return Number(v.intValue);
  if (v.doubleValue !== undefined) return v.doubleValue;
  return v.boolValue ?? "";
}

/** The spans of one OTLP JSON export request. */
export function spansOfRequest(body: OtlpRequest): ReceivedSpan[] {
  const spans: ReceivedSpan[] = [];
  for (const rs of body.resourceSpans ?? []) {
    const name = rs.resource?.attributes?.find((a) => a.key === "service.name")?.value.stringValue ?? "unknown";
    const service = name.replace(/^selene-/, "");
    for (const ss of rs.scopeSpans ?? []) {
      for (const s of ss.spans ?? []) {
        spans.push({
          traceId: s.traceId,
          spanId: s.spanId,
          parentSpanId: s.parentSpanId ?? "",
          service,
          name: s.name,
          kind: s.kind ?? 1,
          startNs: Number(s.startTimeUnixNano),
          endNs: Number(s.endTimeUnixNano),
          attributes: Object.fromEntries((s.attributes ?? []).map((a) => [a.key, attributeValue(a.value)])),
        });
      }
    }
  }
  return spans;
}

async function bodyOf(request: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  const raw = Buffer.concat(chunks);
  return request.headers["content-encoding"] === "gzip" ? gunzipSync(raw) : raw;
}

/** Starts a receiver on a free loopback port. */
export async function startSpanReceiver(): Promise<SpanReceiver> {
  const byTrace = new Map<string, ReceivedSpan[]>();
  const server = createServer((request, response) => {
    bodyOf(request).then(
      (body) => {
        if (request.method !== "POST" || !request.url?.startsWith("/v1/traces")) {
          response.writeHead(404).end();
          return;
        }
        if (!String(request.headers["content-type"] ?? "").includes("json")) {
          response.writeHead(415).end("only the JSON encoding is read");
          return;
        }
        for (const span of spansOfRequest(JSON.parse(body.toString("utf8")) as OtlpRequest)) {
          const list = byTrace.get(span.traceId);
          if (list === undefined) byTrace.set(span.traceId, [span]);
          else list.push(span);
        }
        response.writeHead(200, { "content-type": "application/json" }).end("{}");
      },
      () => response.writeHead(400).end(),
    );
  });
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    spansOf: (wanted) => [...wanted].flatMap((id) => byTrace.get(id) ?? []),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
