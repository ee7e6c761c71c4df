/**
 * Reads the reason-code catalog from the contracts: each ReasonCode value carries
 * its gRPC status and retryability as a `reason_meta` option in reason.proto,
 * so the proto file is the one place those facts live.
 */
import { getOption } from "@bufbuild/protobuf";
import type { status as GrpcStatus } from "@grpc/grpc-js";
import { ReasonCode, ReasonCodeSchema, reason_meta, StatusCode } from "../../gen/es/selene/kernel/v1/reason_pb.js";

/** The catalog facts about one reason. */
export interface ReasonInfo {
  /** The stable UPPER_SNAKE name without the enum prefix, such as "IDEMPOTENCY_KEY_REUSED". */
  readonly name: string;
  /** The gRPC status the reason travels under. */
  readonly status: GrpcStatus;
  /** Whether retrying the same request can help. */
  readonly retryable: boolean;
}

const PREFIX = "REASON_CODE_";

function buildCatalog(): ReadonlyMap<ReasonCode, ReasonInfo> {
  const catalog = new Map<ReasonCode, ReasonInfo>();
  for (const value of ReasonCodeSchema.values) {
    if (value.number === ReasonCode.UNSPECIFIED) continue;
    const meta = getOption(value, reason_meta);
    if (meta.status === StatusCode.UNSPECIFIED) {
      throw new Error(`reason ${value.name} has no reason_meta status in reason.proto`);
    }
    catalog.set(value.number, {
      name: value.name.slice(PREFIX.length),
      status: meta.status as number as GrpcStatus,
      retryable: meta.retryable,
    });
  }
  return catalog;
}

const catalog = buildCatalog();

/** Returns the catalog entry of a reason; UNSPECIFIED and unknown numbers map to INTERNAL. */
export function reasonInfo(reason: ReasonCode): ReasonInfo {
  return catalog.get(reason) ?? catalog.get(ReasonCode.INTERNAL)!;
}

/** Returns every catalog entry, in reason-number order. */
export function allReasons(): ReadonlyArray<readonly [ReasonCode, ReasonInfo]> {
  return [...catalog.entries()].sort((a, b) => a[0] - b[0]);
}
