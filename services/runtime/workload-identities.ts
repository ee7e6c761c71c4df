/**
 * The one table of mTLS identities in the mesh: every workload and client that
 * gets a certificate from `npm run pki`, with the SPIFFE id carried in its SAN.
 * The PKI script issues from it; servers build their caller allow-lists from it.
 */

/** The SPIFFE trust domain of every Selene OS identity. */
export const TRUST_DOMAIN = "selene.local";

/** Whether an identity serves (and calls) inside the mesh, or only calls it from outside. */
export type IdentityKind = "workload" | "client";

/** One certificate holder: its file name stem, SPIFFE id and kind. */
export interface WorkloadIdentity {
  readonly name: string;
  readonly spiffeId: string;
  readonly kind: IdentityKind;
}

/** The names of the mesh's server processes, in issuing order. */
export const WORKLOAD_NAMES = Object.freeze([
  "router",
  "nlp",
  "tools",
  "reminders",
  "calc",
  "outbox",
  "audit",
  "governance",
] as const);

/** A mesh server process name. */
export type WorkloadName = (typeof WORKLOAD_NAMES)[number];

/** Client apps beside demo-app that the benchmark corpus maps to tenants of their own. */
const LOAD_CLIENT_NAMES = Object.freeze(["acme-app", "globex-app"] as const);

function identity(name: string, namespace: string, kind: IdentityKind): WorkloadIdentity {
  return Object.freeze({ name, spiffeId: `spiffe://${TRUST_DOMAIN}/ns/${namespace}/sa/${name}`, kind });
}

/** Every identity the PKI issues: the workloads, then the external clients. */
export const IDENTITIES: readonly WorkloadIdentity[] = Object.freeze([
  ...WORKLOAD_NAMES.map((name) => identity(name, "selene", "workload")),
  // The router maps demo-app to tenant "demo"; operator reaches operator-only reads and mutations.
  identity("demo-app", "clients", "client"),
  identity("operator", "operators", "client"),
  // Two more client apps, so that load and chaos runs drive several tenants (acme, globex) at once.
  ...LOAD_CLIENT_NAMES.map((name) => identity(name, "clients", "client")),
]);

/** A workload name: a DNS label, as Kubernetes service accounts and Describe's engine_id require. */
const WORKLOAD_NAME = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * The identity of an engine outside the table (a new engine, before it is part of the mesh): a
 * workload in namespace "selene", as the table's engines are. Throws for a name that is not a DNS
 * label or that the table already holds.
 */
export function engineIdentity(name: string): WorkloadIdentity {
  if (!WORKLOAD_NAME.test(name)) throw new Error(`engine name "${name}" is not a DNS label (a-z, 0-9, -)`);
  if (findIdentity(name) !== undefined) throw new Error(`"${name}" is already an identity of the mesh`);
  return identity(name, "selene", "workload");
}

/** The identity with this name, or undefined when the table has none. */
export function findIdentity(name: string): WorkloadIdentity | undefined {
  return IDENTITIES.find((entry) => entry.name === name);
}

/** The SPIFFE id of a named identity; throws for a name outside the table (a wiring bug). */
export function spiffeIdOf(name: string): string {
  const found = findIdentity(name);
  if (found === undefined) throw new Error(`unknown workload identity "${name}"`);
  return found.spiffeId;
}
