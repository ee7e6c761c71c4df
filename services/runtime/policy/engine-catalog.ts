/**
 * The engine catalog (policy/engines.json): every engine the router calls, by workload name, with
 * its SPIFFE id, its address on one machine, and the capabilities the router lets it serve (name
 * and kind). It is the router's policy: an engine's Describe must agree with it, or the capability
 * is withdrawn. Read and checked once at start; a bad entry stops the process with a PolicyError
 * naming the file and the place. SELENE_<NAME>_ADDR overrides an engine's address (the launcher and
 * the cluster set it), as for every other workload.
 */
import { CapabilityKind } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { addressVariable, type Env, readAddress } from "../service-config.js";
import { findIdentity, TRUST_DOMAIN } from "../workload-identities.js";
import {
  checkedWithLines,
  objectAt,
  onlyKeys,
  PolicyError,
  policyPath,
  readPolicyFile,
  stringAt,
} from "./policy-file.js";

/** The catalog format version this code reads. */
export const ENGINE_CATALOG_VERSION = 1;

/** The kinds a catalog (and every policy keyed by kind) may name, by their name in the file. */
export const CAPABILITY_KINDS: Readonly<Record<string, CapabilityKind>> = {
  UNDERSTAND: CapabilityKind.UNDERSTAND,
  READ: CapabilityKind.READ,
  EFFECT: CapabilityKind.EFFECT,
};

/** A workload name: a DNS label, as Kubernetes service accounts and Describe's engine_id require. */
const ENGINE_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
/** A capability name, as the engine contract's pattern has it. */
const CAPABILITY_NAME = /^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$/;
const SPIFFE_ID = new RegExp(`^spiffe://${TRUST_DOMAIN.replace(".", "\\.")}/ns/[a-z0-9-]+/sa/[a-z0-9-]+$`);
const ADDRESS = /^[^\s:]+:\d{1,5}$/;

/** A capability the catalog lets an engine serve. */
export interface CatalogCapability {
  readonly name: string;
  readonly kind: CapabilityKind;
}

/** One engine of the catalog. */
export interface CatalogEngine {
  /** Workload name (DNS label): certificate name, TLS server name, resilience policy key. */
  readonly name: string;
  /** The SPIFFE id the engine must present. */
  readonly spiffeId: string;
  /** host:port on one machine; SELENE_<NAME>_ADDR overrides it. */
  readonly address: string;
  readonly capabilities: readonly CatalogCapability[];
}

/** The whole catalog, engines in file order. */
export interface EngineCatalog {
  readonly version: number;
  readonly engines: readonly CatalogEngine[];
  /** sha256 of the file's canonical JSON. */
  readonly digest: string;
}

/** A capability as the router declares it: its name, its engine and its kind. */
export type DeclaredCapability = readonly [name: string, engine: string, kind: CapabilityKind];

function arrayAt(file: string, path: string, value: unknown): readonly unknown[] {
  if (!Array.isArray(value) || value.length === 0) throw new PolicyError(file, path, "must be a non-empty array");
  return value;
}

function matching(file: string, path: string, value: unknown, pattern: RegExp, what: string): string {
  const text = stringAt(file, path, value, 253);
  if (!pattern.test(text)) throw new PolicyError(file, path, `"${text}" is not ${what}`);
  return text;
}

function capabilityAt(file: string, path: string, value: unknown, seen: Map<string, string>): CatalogCapability {
  const o = objectAt(file, path, value);
  onlyKeys(file, path, o, ["name", "kind"]);
  const name = matching(file, `${path}.name`, o.name, CAPABILITY_NAME, "a capability name (such as tools.lookup)");
  const previous = seen.get(name);
  if (previous !== undefined) throw new PolicyError(file, `${path}.name`, `"${name}" is already at ${previous}`);
  seen.set(name, `${path}.name`);
  const kindName = stringAt(file, `${path}.kind`, o.kind, 32);
  const kind = CAPABILITY_KINDS[kindName];
  if (kind === undefined) {
    throw new PolicyError(
      file,
      `${path}.kind`,
      `must be one of ${Object.keys(CAPABILITY_KINDS).join(", ")}, got "${kindName}"`,
    );
  }
  return Object.freeze({ name, kind });
}

function engineAt(file: string, path: string, value: unknown, names: Map<string, string>, seen: Map<string, string>) {
  const o = objectAt(file, path, value);
  onlyKeys(file, path, o, ["name", "spiffeId", "address", "capabilities"]);
  const name = matching(file, `${path}.name`, o.name, ENGINE_NAME, "a DNS label (a-z, 0-9, -)");
  const previous = names.get(name);
  if (previous !== undefined) throw new PolicyError(file, `${path}.name`, `"${name}" is already at ${previous}`);
  names.set(name, `${path}.name`);
  const spiffeId = matching(file, `${path}.spiffeId`, o.spiffeId, SPIFFE_ID, `a SPIFFE id of ${TRUST_DOMAIN}`);
  const known = findIdentity(name);
  if (known !== undefined && known.spiffeId !== spiffeId) {
    throw new PolicyError(file, `${path}.spiffeId`, `"${name}" is ${known.spiffeId} in the mesh, not ${spiffeId}`);
  }
  const address = matching(file, `${path}.address`, o.address, ADDRESS, "host:port");
  const capabilities = arrayAt(file, `${path}.capabilities`, o.capabilities).map((c, i) =>
    capabilityAt(file, `${path}.capabilities[${i}]`, c, seen),
  );
  return Object.freeze({ name, spiffeId, address, capabilities: Object.freeze(capabilities) });
}

/** Checks a parsed catalog; throws PolicyError naming the place of the first fault. */
export function parseEngineCatalog(json: unknown, file: string, digest = ""): EngineCatalog {
  const root = objectAt(file, "", json);
  onlyKeys(file, "", root, ["version", "engines"]);
  if (root.version !== ENGINE_CATALOG_VERSION) {
    throw new PolicyError(file, ".version", `must be ${ENGINE_CATALOG_VERSION}, got ${JSON.stringify(root.version)}`);
  }
  const names = new Map<string, string>();
  const seen = new Map<string, string>();
  const engines = arrayAt(file, ".engines", root.engines).map((e, i) =>
    engineAt(file, `.engines[${i}]`, e, names, seen),
  );
  // The router understands an utterance through one engine: a second UNDERSTAND capability is refused.
  const understanding = engines.flatMap((e, i) =>
    e.capabilities.flatMap((c, j) =>
      c.kind === CapabilityKind.UNDERSTAND ? [`.engines[${i}].capabilities[${j}]`] : [],
    ),
  );
  if (understanding.length > 1) {
    throw new PolicyError(
      file,
      `${understanding[1]}.kind`,
      `a second UNDERSTAND capability (the first is at ${understanding[0]})`,
    );
  }
  return Object.freeze({ version: ENGINE_CATALOG_VERSION, engines: Object.freeze(engines), digest });
}

/** Reads and checks the catalog at `path` (default policy/engines.json). */
export function loadEngineCatalog(path = policyPath("engines")): EngineCatalog {
  const document = readPolicyFile(path);
  return checkedWithLines(path, document, () => parseEngineCatalog(document.json, path, document.digest));
}

/** Every capability of the catalog as (name, engine, kind), in file order. */
export function declaredCapabilities(catalog: EngineCatalog): readonly DeclaredCapability[] {
  return catalog.engines.flatMap((e) => e.capabilities.map((c) => [c.name, e.name, c.kind] as const));
}

/** An engine's address: `catalogAddress`, unless SELENE_<NAME>_ADDR in `env` overrides it. */
export function engineAddressIn(env: Env): (engine: string, catalogAddress: string) => string {
  return (engine, catalogAddress) => readAddress(env, addressVariable(engine), catalogAddress);
}

/** Engine name -> its address: the catalog's, unless SELENE_<NAME>_ADDR overrides it. */
export function engineAddresses(catalog: EngineCatalog, env: Env): ReadonlyMap<string, string> {
  const address = engineAddressIn(env);
  return new Map(catalog.engines.map((e) => [e.name, address(e.name, e.address)]));
}

/** The name of a kind as the catalog writes it. */
export function kindName(kind: CapabilityKind): string {
  return Object.entries(CAPABILITY_KINDS).find(([, k]) => k === kind)?.[0] ?? "UNSPECIFIED";
}
