/**
 * The grants matrix: every privilege any role holds on the objects of Selene's schemas, as data.
 * It is the one place grants are defined: migrations apply it (granting what is missing, revoking
 * what is not here), docs/GRANTS.md is generated from it, and a test compares it cell by cell
 * with the live catalog. The owner role holds its objects' rights implicitly and is not listed.
 */

import { OWNER_ROLE } from "../services/runtime/service-login.js";

/** The roles of the role model (cluster-wide in Postgres). */
export const ROLES = Object.freeze({
  owner: OWNER_ROLE,
  router: "selene_router",
  reminders: "selene_reminders",
  outbox: "selene_outbox",
  audit: "selene_audit",
  sre: "selene_sre",
  breakGlass: "selene_break_glass",
});

/** A role name of the model. */
export type RoleName = (typeof ROLES)[keyof typeof ROLES];

/** One role: whether it logs in and what it is for. */
export interface RoleDefinition {
  readonly name: RoleName;
  readonly login: boolean;
  readonly purpose: string;
}

/** Every role, in the order the docs list them. */
export const ROLE_DEFINITIONS: readonly RoleDefinition[] = [
  { name: ROLES.owner, login: false, purpose: "owns every schema and object; only migrations use it (SET ROLE)" },
  { name: ROLES.router, login: true, purpose: "the router process: its own schema only" },
  { name: ROLES.reminders, login: true, purpose: "the reminders engine: its own schema only" },
  { name: ROLES.outbox, login: true, purpose: "the outbox service: its own schema only" },
  { name: ROLES.audit, login: true, purpose: "the audit service: appends to and reads the audit ledger" },
  {
    name: ROLES.sre,
    login: false,
    purpose: "read-only operators (members log in as themselves); may request break-glass",
  },
  {
    name: ROLES.breakGlass,
    login: false,
    purpose: "lent to an operator by break_glass.open for the session's TTL; changes ledgers, journaled",
  },
];

/** A privilege on a table (TRUNCATE, REFERENCES and TRIGGER are never granted). */
export type TablePrivilege = "SELECT" | "INSERT" | "UPDATE" | "DELETE" | "TRUNCATE" | "REFERENCES" | "TRIGGER";

/** How a table is used, which decides its row of the matrix. */
export type TableKind = "state" | "ledger" | "internal";

/** One table: its kind and, per role, its privileges. */
export interface TableGrants {
  readonly kind: TableKind;
  /** Row-level security keyed on the transaction's tenant (services/runtime/in-tenant-transaction.ts). */
  readonly tenantIsolated?: boolean;
  readonly grants: Readonly<Partial<Record<RoleName, readonly TablePrivilege[]>>>;
}

/** One schema's objects and who may use them. */
export interface SchemaGrants {
  /** Roles with USAGE on the schema (nobody but the owner has CREATE). */
  readonly usage: readonly RoleName[];
  readonly tables: Readonly<Record<string, TableGrants>>;
  /** Function signature (as regprocedure prints it, without the schema) -> roles with EXECUTE. */
  readonly functions: Readonly<Record<string, readonly RoleName[]>>;
}

/** A service's working table: the service reads and writes it, SRE reads it. */
function state(writer: RoleName): TableGrants {
  return { kind: "state", grants: { [writer]: ["SELECT", "INSERT", "UPDATE", "DELETE"], [ROLES.sre]: ["SELECT"] } };
}

/**
 * A protected ledger: only its writer inserts; nobody updates or deletes except through
 * break-glass (whose UPDATE and DELETE the guard trigger refuses outside an open session).
 */
function ledger(writer: RoleName | undefined): TableGrants {
  const grants: Partial<Record<RoleName, readonly TablePrivilege[]>> = {
    [ROLES.sre]: ["SELECT"],
    [ROLES.breakGlass]: ["SELECT", "UPDATE", "DELETE"],
  };
  if (writer !== undefined) grants[writer] = ["SELECT", "INSERT"];
  return { kind: "ledger", grants };
}

/** A table of the break-glass procedure itself: written only by its functions (as the owner), sealed. */
function sealed(): TableGrants {
  return { kind: "ledger", grants: { [ROLES.sre]: ["SELECT"] } };
}

/**
 * Bookkeeping the owner alone writes (schema_migrations, the audit chain heads). A service reads its
 * own schema_migrations: its pod's init container waits there for the migrations Job.
 */
function internal(...readers: RoleName[]): TableGrants {
  return { kind: "internal", grants: Object.fromEntries(readers.map((role) => [role, ["SELECT"]])) };
}

/** The matrix, by schema. */
export const GRANTS_MATRIX: Readonly<Record<string, SchemaGrants>> = {
  break_glass: {
    usage: [ROLES.sre],
    tables: {
      schema_migrations: internal(ROLES.sre),
      sessions: sealed(),
      closures: sealed(),
      journal: sealed(),
    },
    functions: {
      "open(text,text,interval)": [ROLES.sre],
      "close()": [ROLES.sre],
      "status()": [ROLES.sre],
      "audit(text,text,jsonb,bytea)": [],
      "audit_closed()": [],
      "audit_opened()": [],
      "guard_ledger()": [],
      "open_session_of(text)": [],
      "sweep()": [],
      "take_back(text)": [],
    },
  },
  router: {
    usage: [ROLES.router, ROLES.sre],
    tables: {
      schema_migrations: internal(ROLES.router, ROLES.sre),
      simulations: state(ROLES.router),
      turn_records: state(ROLES.router),
    },
    functions: {},
  },
  reminders: {
    usage: [ROLES.reminders, ROLES.sre],
    tables: {
      schema_migrations: internal(ROLES.reminders, ROLES.sre),
      reminders: { ...state(ROLES.reminders), tenantIsolated: true },
      processed_keys: state(ROLES.reminders),
    },
    functions: {},
  },
  outbox: {
    usage: [ROLES.outbox, ROLES.sre, ROLES.breakGlass],
    tables: {
      schema_migrations: internal(ROLES.outbox, ROLES.sre),
      effects: state(ROLES.outbox),
      effect_events: ledger(ROLES.outbox),
      // The audit relay's cursor: one row, locked (FOR UPDATE) and moved by the relay.
      audit_relay: { kind: "state", grants: { [ROLES.outbox]: ["SELECT", "UPDATE"], [ROLES.sre]: ["SELECT"] } },
    },
    functions: {
      "refuse_effect_identity_change()": [],
    },
  },
  audit: {
    usage: [ROLES.audit, ROLES.sre, ROLES.breakGlass],
    tables: {
      schema_migrations: internal(ROLES.audit, ROLES.sre),
      chain_heads: internal(ROLES.audit, ROLES.sre),
      events: ledger(ROLES.audit),
    },
    functions: {
      "advance_heads()": [],
      "chain_event()": [],
      "event_hash(audit.events)": [],
      "genesis_hash(text)": [],
    },
  },
};

/** One cell: `role` holds `privilege` on `object` ("table outbox.effects", "schema audit", ...). */
export interface GrantCell {
  readonly role: string;
  readonly object: string;
  readonly privilege: string;
}

/** The key of a cell, for set comparisons. */
export function cellKey(cell: GrantCell): string {
  return `${cell.role} ${cell.privilege} on ${cell.object}`;
}

/** Every cell of `schemas`' part of the matrix. */
export function matrixCells(schemas: readonly string[] = Object.keys(GRANTS_MATRIX)): GrantCell[] {
  const cells: GrantCell[] = [];
  for (const schema of schemas) {
    const grants = GRANTS_MATRIX[schema];
    if (grants === undefined) throw new Error(`schema ${schema} is not in the grants matrix`);
    for (const role of grants.usage) cells.push({ role, object: `schema ${schema}`, privilege: "USAGE" });
    for (const [table, { grants: byRole }] of Object.entries(grants.tables)) {
      for (const [role, privileges] of Object.entries(byRole)) {
        for (const privilege of privileges ?? []) cells.push({ role, object: `table ${schema}.${table}`, privilege });
      }
    }
    for (const [signature, roles] of Object.entries(grants.functions)) {
      for (const role of roles) cells.push({ role, object: `function ${schema}.${signature}`, privilege: "EXECUTE" });
    }
  }
  return cells;
}

/** The protected ledgers, as "schema.table". */
export function ledgerTables(): string[] {
  return Object.entries(GRANTS_MATRIX).flatMap(([schema, grants]) =>
    Object.entries(grants.tables)
      .filter(([, table]) => table.kind === "ledger")
      .map(([table]) => `${schema}.${table}`),
  );
}
