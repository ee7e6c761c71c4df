import { randomBytes } from "node:crypto";
import { expect } from "chai";
import pg from "pg";
import { ROLES } from "../../deploy/grants-matrix.js";
import { ConfigError } from "../../services/runtime/service-config.js";
import { assertServiceLogin } from "../../services/runtime/service-login.js";
import { createMigratedTestDatabase, type MigratedTestDatabase } from "../support/test-database.js";

describe("service login", () => {
  let database: MigratedTestDatabase;
  let admin: pg.Pool;
  const ownerMember = `selene_test_owner_${randomBytes(4).toString("hex")}`;

  before(async () => {
    database = await createMigratedTestDatabase(["reminders"]);
    admin = new pg.Pool({ connectionString: database.url, max: 1 });
    await admin.query(`create role ${ownerMember} login in role ${ROLES.owner}`);
  });

  after(async () => {
    await admin?.query(`drop role if exists ${ownerMember}`);
    await admin?.end();
    await database?.drop();
  });

  async function outcome(url: string): Promise<unknown> {
    const pool = new pg.Pool({ connectionString: url, max: 1 });
    try {
      return await assertServiceLogin(pool).then(
        () => "accepted",
        (err: unknown) => err,
      );
    } finally {
      await pool.end();
    }
  }

  it("accepts a service's own role", async () => {
    expect(await outcome(database.roleUrl(ROLES.reminders))).to.equal("accepted");
  });

  it("refuses a superuser and a member of the owner role, naming why", async () => {
    const superuser = await outcome(database.url);
    expect(superuser).to.be.instanceOf(ConfigError);
    expect((superuser as Error).message).to.contain("a superuser");
    const member = await outcome(database.roleUrl(ownerMember));
    expect(member).to.be.instanceOf(ConfigError);
    expect((member as Error).message).to.contain(`a member of ${ROLES.owner}`);
  });
});
