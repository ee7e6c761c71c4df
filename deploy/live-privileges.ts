/**
 * The privileges a database actually grants, read from the catalog as grants-matrix cells: every
 * ACL entry on Selene's schemas and on their tables, sequences, columns and functions (except the
 * owner's own), and every ACL entry that names one of the model's roles anywhere else.
 */
import type pg from "pg";
import { cellKey, GRANTS_MATRIX, type GrantCell, matrixCells, ROLES } from "./grants-matrix.js";

/** Where live and expected grants differ. */
export interface GrantsDrift {
  /** In the matrix, not granted. */
  readonly missing: GrantCell[];
  /** Granted, not in the matrix. */
  readonly extra: GrantCell[];
  /** Tables and functions of the schemas that the matrix does not list, or lists but do not exist. */
  readonly unlisted: string[];
  readonly unknown: string[];
}

const KINDS: Readonly<Record<string, string>> = {
  r: "table",
  p: "table",
  v: "view",
  m: "view",
  f: "table",
  S: "sequence",
};

// One row per ACL entry. acldefault() stands in for a null ACL (the built-in defaults, such as
// EXECUTE for PUBLIC on a new function). Grantee 0 is PUBLIC.
const ACL_SQL = `
with relations as (
  select n.nspname as schema, c.relname as name, c.relkind::text as kind, c.relowner as owner,
         coalesce(c.relacl, acldefault(case when c.relkind = 'S' then 's'::"char" else 'r'::"char" end, c.relowner)) as acl
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where c.relkind in ('r', 'p', 'v', 'm', 'f', 'S')
), entries as (
  select 'schema'::text as kind, n.nspname as schema, n.nspname as name, a.grantee, a.privilege_type
  from pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
  where a.grantee <> n.nspowner
  union all
  select r.kind, r.schema, r.name, a.grantee, a.privilege_type
  from relations r, aclexplode(r.acl) a
  where a.grantee <> r.owner
  union all
  select 'column', n.nspname, c.relname || '.' || att.attname, a.grantee, a.privilege_type
  from pg_attribute att join pg_class c on c.oid = att.attrelid join pg_namespace n on n.oid = c.relnamespace,
       aclexplode(att.attacl) a
  where att.attacl is not null and a.grantee <> c.relowner
  union all
  select 'function', n.nspname, p.proname || '(' || replace(oidvectortypes(p.proargtypes), ', ', ',') || ')', a.grantee,
         a.privilege_type
  from pg_proc p join pg_namespace n on n.oid = p.pronamespace,
       aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
  where a.grantee <> p.proowner
)
select e.kind, e.schema, e.name, case when e.grantee = 0 then 'PUBLIC' else pg_get_userbyid(e.grantee) end as role,
       e.privilege_type as privilege
from entries e
where e.schema = any($1::text[])
   or (e.grantee <> 0 and pg_get_userbyid(e.grantee) = any($2::text[])
       and e.schema not in ('pg_catalog', 'information_schema'))`;

// Tables, views and functions of the schemas, to compare with what the matrix lists.
const INVENTORY_SQL = `
select n.nspname || '.' || c.relname as object from pg_class c join pg_namespace n on n.oid = c.relnamespace
where n.nspname = any($1::text[]) and c.relkind in ('r', 'p', 'v', 'm', 'f')
union all
select n.nspname || '.' || p.proname || '(' || replace(oidvectortypes(p.proargtypes), ', ', ',') || ')'
from pg_proc p join pg_namespace n on n.oid = p.pronamespace
where n.nspname = any($1::text[])`;

/** The live cells on `schemas` (and anything granted to a model role elsewhere). */
export async function readLiveCells(client: pg.ClientBase, schemas: readonly string[]): Promise<GrantCell[]> {
  const rows = await client.query<{ kind: string; schema: string; name: string; role: string; privilege: string }>(
    ACL_SQL,
    [schemas, Object.values(ROLES)],
  );
  return rows.rows.map((row) => ({
    role: row.role,
    privilege: row.privilege,
    object:
      row.kind === "schema"
        ? `schema ${row.schema}`
        : `${KINDS[row.kind] ?? row.kind} ${quoteIfNeeded(row.schema)}.${row.name}`,
  }));
}

function quoteIfNeeded(schema: string): string {
  return /^[a-z_][a-z0-9_]*$/.test(schema) ? schema : JSON.stringify(schema);
}

/** Compares the live grants of `schemas` with their part of the matrix, both ways. */
export async function grantsDrift(client: pg.ClientBase, schemas: readonly string[]): Promise<GrantsDrift> {
  const expected = matrixCells(schemas);
  const live = await readLiveCells(client, schemas);
  const liveKeys = new Set(live.map(cellKey));
  const expectedKeys = new Set(expected.map(cellKey));
  const listed = new Set(
    schemas.flatMap((schema) => {
      const grants = GRANTS_MATRIX[schema]!;
      return [...Object.keys(grants.tables), ...Object.keys(grants.functions)].map((name) => `${schema}.${name}`);
    }),
  );
  const existing = new Set(
    (await client.query<{ object: string }>(INVENTORY_SQL, [schemas])).rows.map((row) => row.object),
  );
  return {
    missing: expected.filter((cell) => !liveKeys.has(cellKey(cell))),
    extra: live.filter((cell) => !expectedKeys.has(cellKey(cell))),
    unlisted: [...existing].filter((object) => !listed.has(object)).sort(),
    unknown: [...listed].filter((object) => !existing.has(object)).sort(),
  };
}

/** Whether nothing differs. */
export function isClean(drift: GrantsDrift): boolean {
  return drift.missing.length + drift.extra.length + drift.unlisted.length + drift.unknown.length === 0;
}

/** The drift as lines for a person ("missing: selene_sre SELECT on table audit.events"). */
export function describeDrift(drift: GrantsDrift): string[] {
  return [
    ...drift.missing.map((cell) => `missing: ${cellKey(cell)}`),
    ...drift.extra.map((cell) => `extra: ${cellKey(cell)}`),
    ...drift.unlisted.map((object) => `not in the grants matrix: ${object}`),
    ...drift.unknown.map((object) => `in the grants matrix but not in the database: ${object}`),
  ];
}
