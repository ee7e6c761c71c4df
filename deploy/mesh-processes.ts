/**
 * The processes of the local mesh, in start order (engines first, the router
 * last), with the command and environment of each. Ports come from
 * LOCAL_PORTS, shifted by `portOffset` so tests can run a mesh beside another.
 */
import { join } from "node:path";
import { LOCAL_CONNECT_PORT, LOCAL_PORTS } from "../services/runtime/local-ports.js";
import { addressVariable, metricsAddressVariable } from "../services/runtime/service-config.js";
import { roleDatabaseUrl } from "./database-roles.js";
import { ROLES, type RoleName } from "./grants-matrix.js";

/** One process of the mesh. */
export interface MeshProcess {
  readonly name: keyof typeof LOCAL_PORTS;
  readonly command: string;
  readonly args: readonly string[];
  /** host:port of its plaintext health port. */
  readonly healthAddress: string;
  /** Its own variables, on top of meshEnv's (DATABASE_URL, logged in as its own role). */
  readonly env: Readonly<Record<string, string>>;
}

/** Where the mesh runs. */
export interface MeshLayout {
  /** The repository root (compiled code lives in dist/). */
  readonly root: string;
  readonly pkiDir: string;
  /** The migrating (admin) login's URL; processes get the same server and database as their own role. */
  readonly databaseUrl: string;
  /** Passwords of the service roles, when the server authenticates by password (the embedded one). */
  readonly rolePasswords?: Readonly<Record<string, string>>;
  readonly portOffset: number;
  readonly logLevel: string;
}

/** The schemas migrated before the processes start: the ledger guard, then each service's. */
export const MIGRATED_SERVICES = ["break_glass", "router", "reminders", "outbox", "audit"] as const;

/** The processes that own a schema, and the login role each connects as. */
export const DATABASE_ROLES: Readonly<Partial<Record<keyof typeof LOCAL_PORTS, RoleName>>> = {
  router: ROLES.router,
  reminders: ROLES.reminders,
  outbox: ROLES.outbox,
  audit: ROLES.audit,
};

/** The engines, the audit service, the outbox and the router, in start order. */
export const MESH_ORDER = ["nlp", "tools", "reminders", "calc", "audit", "outbox", "router"] as const;

/** The Python the calc engine runs on: Debian's, with its python3-grpcio and python3-protobuf. */
export const PYTHON = "/usr/bin/python3";

/** The address of process `name`'s gRPC port. */
export function grpcAddress(name: keyof typeof LOCAL_PORTS, portOffset: number): string {
  return `127.0.0.1:${LOCAL_PORTS[name].grpc + portOffset}`;
}

/** The address of process `name`'s Prometheus metrics port. */
export function metricsAddress(name: keyof typeof LOCAL_PORTS, portOffset: number): string {
  return `127.0.0.1:${LOCAL_PORTS[name].metrics + portOffset}`;
}

/** The router's Connect address. */
export function connectAddress(portOffset: number): string {
  return `127.0.0.1:${LOCAL_CONNECT_PORT + portOffset}`;
}

/** The environment every process of the mesh gets. */
export function meshEnv(layout: MeshLayout): Record<string, string> {
  const env: Record<string, string> = {
    SELENE_PKI_DIR: layout.pkiDir,
    LOG_LEVEL: layout.logLevel,
    SELENE_ROUTER_CONNECT_ADDR: connectAddress(layout.portOffset),
    SELENE_PYTHON_STUBS: join(layout.root, "gen", "python"),
  };
  for (const name of Object.keys(LOCAL_PORTS) as Array<keyof typeof LOCAL_PORTS>) {
    env[addressVariable(name)] = grpcAddress(name, layout.portOffset);
    env[`SELENE_${name.toUpperCase()}_HEALTH_ADDR`] = `127.0.0.1:${LOCAL_PORTS[name].health + layout.portOffset}`;
    env[metricsAddressVariable(name)] = metricsAddress(name, layout.portOffset);
  }
  return env;
}

/** The environment of process `name` alone: its own DATABASE_URL when it owns a schema. */
export function processEnv(layout: MeshLayout, name: keyof typeof LOCAL_PORTS): Record<string, string> {
  const role = DATABASE_ROLES[name];
  if (role === undefined) return {};
  return { DATABASE_URL: roleDatabaseUrl(layout.databaseUrl, role, layout.rolePasswords?.[role]) };
}

/** The mesh's processes. */
export function meshProcesses(layout: MeshLayout): MeshProcess[] {
  const node = (path: string) => ({ command: process.execPath, args: [join(layout.root, "dist", path)] });
  const commands = {
    nlp: node("services/engines/nlp/main.js"),
    tools: node("services/engines/tools/main.js"),
    reminders: node("services/engines/reminders/main.js"),
    outbox: node("services/outbox/main.js"),
    audit: node("services/audit/main.js"),
    calc: { command: PYTHON, args: [join(layout.root, "services", "engines", "calc", "calc_engine.py")] },
    router: node("services/router/main.js"),
  };
  return MESH_ORDER.map((name) => ({
    name,
    ...commands[name],
    healthAddress: `127.0.0.1:${LOCAL_PORTS[name].health + layout.portOffset}`,
    env: processEnv(layout, name),
  }));
}
