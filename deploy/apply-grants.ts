/**
 * Makes a schema's live grants equal to its part of the grants matrix: grants the missing cells
 * and revokes the extra ones, run by migrate as the owner in the migration's transaction. An
 * object of the schema that the matrix does not list keeps its grants and is logged (a database
 * ahead of this code); a listed object that does not exist is an error.
 */
import pg from "pg";
import type { Logger } from "pino";
import type { GrantCell } from "./grants-matrix.js";
import { grantsDrift } from "./live-privileges.js";
import { MigrationError } from "./migration-error.js";

/** The SQL target of a cell's object: "table a.b" -> `table "a"."b"`, "column a.b.c" -> `table "a"."b"` with column c. */
function target(object: string): { on: string; column: string | undefined } {
  const space = object.indexOf(" ");
  const kind = object.slice(0, space);
  const name = object.slice(space + 1);
  if (kind === "schema") return { on: `schema ${pg.escapeIdentifier(name)}`, column: undefined };
  if (kind === "function") {
    const dot = name.indexOf(".");
    const paren = name.indexOf("(");
    // Argument types print as SQL type names (regprocedure style), so they go in as they are.
    const fn = `${pg.escapeIdentifier(name.slice(0, dot))}.${pg.escapeIdentifier(name.slice(dot + 1, paren))}`;
    return { on: `function ${fn}${name.slice(paren)}`, column: undefined };
  }
  const parts = name.split(".");
  const relation = `${pg.escapeIdentifier(parts[0]!)}.${pg.escapeIdentifier(parts[1]!)}`;
  if (kind === "column") return { on: `table ${relation}`, column: pg.escapeIdentifier(parts[2]!) };
  return { on: `${kind === "sequence" ? "sequence" : "table"} ${relation}`, column: undefined };
}

function grantee(role: string): string {
  return role === "PUBLIC" ? "public" : pg.escapeIdentifier(role);
}

function statement(verb: "grant" | "revoke", cell: GrantCell): string {
  const { on, column } = target(cell.object);
  const privilege = column === undefined ? cell.privilege : `${cell.privilege} (${column})`;
  return verb === "grant"
    ? `grant ${privilege} on ${on} to ${grantee(cell.role)}`
    : `revoke ${privilege} on ${on} from ${grantee(cell.role)}`;
}

/** Applies the matrix to `schema`; returns the statements it ran. */
export async function applyGrants(client: pg.ClientBase, schema: string, logger: Logger): Promise<string[]> {
  const drift = await grantsDrift(client, [schema]);
  if (drift.unknown.length > 0) {
    throw new MigrationError(
      "MIGRATION_GRANTS_MISMATCH",
      schema,
      "",
      `the grants matrix (deploy/grants-matrix.ts) lists objects the migrations did not create: ${drift.unknown.join(", ")}`,
    );
  }
  if (drift.unlisted.length > 0) {
    logger.warn({ objects: drift.unlisted }, "objects not in the grants matrix keep their grants");
  }
  const unlisted = new Set(drift.unlisted);
  // Extra grants are revoked on this schema's listed objects only.
  const revocable = (cell: GrantCell) => {
    const kind = cell.object.slice(0, cell.object.indexOf(" "));
    const name = cell.object.slice(kind.length + 1);
    const object = kind === "column" ? name.split(".").slice(0, 2).join(".") : name;
    return (name === schema || name.startsWith(`${schema}.`)) && !unlisted.has(object);
  };
  const statements = [
    ...drift.extra.filter(revocable).map((cell) => statement("revoke", cell)),
    ...drift.missing.map((cell) => statement("grant", cell)),
  ];
  for (const sql of statements) await client.query(sql);
  if (statements.length > 0) logger.info({ statements: statements.length }, "grants applied");
  return statements;
}
