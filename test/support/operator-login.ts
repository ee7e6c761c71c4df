/**
 * A person's database login for tests: a LOGIN role named selene_test_op_<random>, member of the
 * read-only SRE role, as an operator's own login would be. Roles are cluster-wide, so every test
 * file makes its own and drops it, and concurrent runs never share one.
 */
import { randomBytes } from "node:crypto";
import pg from "pg";
import { roleDatabaseUrl } from "../../deploy/database-roles.js";
import { ROLES } from "../../deploy/grants-matrix.js";
import { LOCAL_ADMIN_URL } from "../../deploy/scratch-database.js";

/** An operator login. */
export interface OperatorLogin {
  readonly name: string;
  /** `databaseUrl` logged in as this operator. */
  url(databaseUrl: string): string;
  drop(): Promise<void>;
}

async function asAdmin(sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: process.env.DATABASE_URL || LOCAL_ADMIN_URL });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

/** Creates the login (after the roles exist: migrate a database first). */
export async function createOperatorLogin(): Promise<OperatorLogin> {
  const name = `selene_test_op_${randomBytes(4).toString("hex")}`;
  await asAdmin(`create role ${name} login in role ${ROLES.sre}`);
  return {
    name,
    url: (databaseUrl) => roleDatabaseUrl(databaseUrl, name),
    drop: () => asAdmin(`drop role if exists ${name}`),
  };
}
