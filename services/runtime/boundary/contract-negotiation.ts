/**
 * Version negotiation at the call boundary, after the request is admitted
 * (the boundary validator has already refused a version outside the window,
 * N and N-1, with UNSUPPORTED_CONTRACT_VERSION naming the range):
 *   - a caller gets the response, and an error's ErrorDetail, shaped to the
 *     surface of the release it declared (release-surface.ts): an older
 *     supported version always, and the current one while the code has
 *     values that wait for the next release (its image lacks them), unless
 *     the caller names this build's surface (contract-surface.ts: a client
 *     of this code base, which knows every value); a caller at a version
 *     with no recorded image gets everything as it is;
 *   - a caller at a deprecated version (every supported version older than N:
 *     docs/DEPRECATION.md), or setting a field marked `deprecated`, gets a
 *     `selene-deprecation` response header saying what, and
 *     selene_contract_deprecated_total{method, kind, name} counts it.
 */
import { type DescMessage, type FileRegistry, isMessage, type MessageShape } from "@bufbuild/protobuf";
import { reflect } from "@bufbuild/protobuf/reflect";
import { Counter } from "prom-client";
import type { ContractVersion } from "../../../gen/es/selene/kernel/v1/envelope_pb.js";
import { CONTRACT_SURFACE, CONTRACT_SURFACE_KEY } from "../contract-surface.js";
import { CURRENT_CONTRACT_VERSION, formatVersion, isAtLeast, type Version } from "../contract-version.js";
import { metricsRegistry } from "../metrics-registry.js";
import { releaseSurface, shapeForRelease } from "../release-surface.js";
import type { CallMetadata } from "../unary-service.js";

/** The response header that carries deprecation warnings (several joined by ", "). */
export const DEPRECATION_HEADER = "selene-deprecation";

let counter: Counter | undefined;

function deprecatedCounter(): Counter {
  counter ??= new Counter({
    name: "selene_contract_deprecated_total",
    help: "Requests that used a deprecated contract version (kind=version) or set a deprecated field (kind=field).",
    labelNames: ["method", "kind", "name"],
    registers: [metricsRegistry()],
  });
  return counter;
}

/** What negotiation decided for one admitted request. */
export interface Negotiated {
  /** The version the request declared; undefined for a request without an envelope. */
  readonly version: Version | undefined;
  /** Warnings for the `selene-deprecation` header; empty when nothing deprecated was used. */
  readonly warnings: readonly string[];
  /**
   * The surface of the caller's release, by which its answers and errors are shaped; undefined when
   * the caller's version has no recorded image (nothing to shape by) or the request no envelope.
   */
  readonly surface: FileRegistry | undefined;
  /** The response as the caller's version knows it. */
  shape<Desc extends DescMessage>(
    schema: Desc,
    message: MessageShape<Desc>,
    bytes: Uint8Array,
  ): { readonly message: MessageShape<Desc>; readonly bytes: Uint8Array };
}

function declaredVersion(request: unknown): Version | undefined {
  const version = (request as { envelope?: { contractVersion?: ContractVersion } }).envelope?.contractVersion;
  return version === undefined ? undefined : { major: version.major, minor: version.minor };
}

/** Per request schema: whether any field the walk below can reach is deprecated. */
const mayHoldDeprecated = new WeakMap<DescMessage, boolean>();

/** Whether `schema`, or a message it nests (as the walk below descends), has a deprecated field. */
function hasDeprecatedField(schema: DescMessage): boolean {
  let known = mayHoldDeprecated.get(schema);
  if (known !== undefined) return known;
  const seen = new Set<DescMessage>();
  const reach = (desc: DescMessage): boolean => {
    if (seen.has(desc)) return false;
    seen.add(desc);
    return desc.fields.some((f) => f.deprecated || (f.fieldKind === "message" && reach(f.message)));
  };
  known = reach(schema);
  mayHoldDeprecated.set(schema, known);
  return known;
}

/** The paths of the deprecated fields `message` sets, at any depth, in field order. */
export function deprecatedFieldsSet(schema: DescMessage, message: MessageShape<DescMessage>): string[] {
  // Most requests have no deprecated field anywhere: no need to reflect over every call's message.
  if (!hasDeprecatedField(schema)) return [];
  const out: string[] = [];
  const walk = (desc: DescMessage, value: MessageShape<DescMessage>, path: string) => {
    const r = reflect(desc, value);
    for (const field of desc.fields) {
      if (!r.isSet(field)) continue;
      const at = path === "" ? field.name : `${path}.${field.name}`;
      if (field.deprecated) out.push(at);
      if (field.fieldKind === "message") {
        const inner = (value as Record<string, unknown>)[field.localName];
        if (isMessage(inner)) walk(field.message, inner as MessageShape<DescMessage>, at);
      }
    }
  };
  walk(schema, message, "");
  return out;
}

/** The surface to shape answers by for a caller at `version` (see the top of this file). */
function callerSurface(version: Version | undefined, older: boolean, metadata: CallMetadata): FileRegistry | undefined {
  if (version === undefined) return undefined;
  if (!older && metadata.get(CONTRACT_SURFACE_KEY)[0] === CONTRACT_SURFACE) return undefined;
  return releaseSurface(version);
}

/** Negotiates one admitted request of method `path`, with the call's request headers. */
export function negotiate(
  path: string,
  schema: DescMessage,
  request: MessageShape<DescMessage>,
  metadata: CallMetadata,
): Negotiated {
  const version = declaredVersion(request);
  const warnings: string[] = [];
  const older = version !== undefined && !isAtLeast(version, CURRENT_CONTRACT_VERSION);
  if (older) {
    const name = formatVersion(version);
    warnings.push(`contract ${name} is deprecated; current is ${formatVersion(CURRENT_CONTRACT_VERSION)}`);
    deprecatedCounter().inc({ method: path, kind: "version", name });
  }
  for (const field of deprecatedFieldsSet(schema, request)) {
    warnings.push(`field ${field} is deprecated`);
    deprecatedCounter().inc({ method: path, kind: "field", name: `${schema.typeName}.${field}` });
  }
  const surface = callerSurface(version, older, metadata);
  return {
    version,
    warnings,
    surface,
    shape(outputSchema, message, bytes) {
      if (surface !== undefined) return shapeForRelease(outputSchema, message, surface, bytes);
      // Every supported version older than N has its image (docs/DEPRECATION.md); a server without
      // it cannot promise an old caller an answer it can read.
      if (older) throw new Error(`no image of release ${formatVersion(version)} in proto/releases`);
      return { message, bytes };
    },
  };
}
