import { expect } from "chai";
import { databaseSecrets, PASSWORD_LOGINS } from "../../../deploy/cluster/podman-secrets.js";
import {
  readMigrationJobConfig,
  readMigrationWaitConfig,
  serviceUrlVariable,
} from "../../../deploy/migration-job-config.js";

const passwords = Object.fromEntries(PASSWORD_LOGINS.map((login) => [login, `pw-${login}`]));

/** The Job's environment as the podman Secrets fill it. */
function jobEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const secret of databaseSecrets("postgres-pod-0", passwords)) {
    const data = JSON.parse(secret.content) as Record<string, string>;
    const url = Buffer.from(data.url!, "base64").toString("utf8");
    if (secret.name === "migrations-database") env.DATABASE_URL = url;
    else env[serviceUrlVariable(secret.name.replace(/-database$/, ""))] = url;
  }
  return env;
}

describe("migrations Job config", () => {
  it("takes each service's password from its own URL, for its own role", () => {
    const config = readMigrationJobConfig(jobEnv());
    expect(config.rolePasswords).to.deep.equal({
      selene_router: "pw-selene_router",
      selene_reminders: "pw-selene_reminders",
      selene_outbox: "pw-selene_outbox",
      selene_audit: "pw-selene_audit",
    });
    expect(config.databaseUrl).to.equal("postgres://selene_migrations:pw-selene_migrations@postgres-pod-0:5432/selene");
  });

  it("refuses a Secret that logs a service in as another role, or without a password", () => {
    const env = jobEnv();
    env.SELENE_ROUTER_DATABASE_URL = env.SELENE_AUDIT_DATABASE_URL!;
    expect(() => readMigrationJobConfig(env)).to.throw("must log in as selene_router");
    const bare = jobEnv();
    bare.SELENE_OUTBOX_DATABASE_URL = "postgres://selene_outbox@postgres:5432/selene";
    expect(() => readMigrationJobConfig(bare)).to.throw("must hold a password");
    const missing = jobEnv();
    delete missing.SELENE_REMINDERS_DATABASE_URL;
    expect(() => readMigrationJobConfig(missing)).to.throw("SELENE_REMINDERS_DATABASE_URL must be set");
  });

  it("needs a schema name to wait for", () => {
    expect(readMigrationWaitConfig({ DATABASE_URL: "postgres://x", SELENE_MIGRATED_SCHEMA: "router" }).schema).to.equal(
      "router",
    );
    expect(() => readMigrationWaitConfig({ DATABASE_URL: "postgres://x", SELENE_MIGRATED_SCHEMA: "a; drop" })).to.throw(
      "SELENE_MIGRATED_SCHEMA",
    );
  });
});
