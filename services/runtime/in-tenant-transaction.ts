/**
 * A transaction scoped to one tenant: the tenant goes into the transaction-local setting that the
 * row-level security policies of tenant tables compare with (ARCHITECTURE.md, "Data"), so a query
 * that forgets its tenant filter still sees and writes that tenant's rows only.
 */
import type pg from "pg";
import { inTransaction } from "./in-transaction.js";

/** The setting tenant tables' policies read: current_setting('selene.tenant_id', true). */
export const TENANT_SETTING = "selene.tenant_id";

/** Runs `work` in a transaction of `pool` whose tenant setting is `tenantId`. */
export function inTenantTransaction<T>(
  pool: pg.Pool,
  tenantId: string,
  work: (client: pg.PoolClient) => Promise<T>,
): Promise<T> {
  return inTransaction(pool, async (client) => {
    await client.query("select set_config($1, $2, true)", [TENANT_SETTING, tenantId]);
    return work(client);
  });
}
