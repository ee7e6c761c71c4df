import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { roleDatabaseUrl } from "../../../deploy/database-roles.js";
import { ROLE_DEFINITIONS, ROLES } from "../../../deploy/grants-matrix.js";
import { MESH_ORDER, type MeshLayout, processEnv } from "../../../deploy/mesh-processes.js";
import { ensureRolePasswords } from "../../../deploy/role-passwords.js";

const ADMIN_URL = "postgres://postgres:admin-secret@127.0.0.1:54329/selene";

function aLayout(overrides: Partial<MeshLayout> = {}): MeshLayout {
  return { root: "/repo", pkiDir: "/pki", databaseUrl: ADMIN_URL, portOffset: 0, logLevel: "info", ...overrides };
}

describe("database logins of the mesh", () => {
  it("gives each schema-owning process its own role on the admin URL's server and database, never the admin", () => {
    const layout = aLayout({ rolePasswords: { [ROLES.router]: "p w/d" } });
    const router = new URL(processEnv(layout, "router").DATABASE_URL!);
    expect([router.username, decodeURIComponent(router.password), router.host, router.pathname]).to.deep.equal([
      ROLES.router,
      "p w/d",
      "127.0.0.1:54329",
      "/selene",
    ]);
    expect(new URL(processEnv(layout, "audit").DATABASE_URL!)).to.include({ username: ROLES.audit, password: "" });
    for (const name of MESH_ORDER) {
      const url = processEnv(layout, name).DATABASE_URL;
      if (url !== undefined) expect(new URL(url).username, name).to.match(/^selene_/);
    }
  });

  it("gives the engines without a schema no database at all", () => {
    for (const name of ["nlp", "tools", "calc"] as const) expect(processEnv(aLayout(), name)).to.deep.equal({});
  });

  it("keeps the URL's other parts when it swaps the login", () => {
    const url = roleDatabaseUrl("postgres://u:p@db.example:5432/selene?sslmode=require", ROLES.outbox);
    expect(url).to.equal(`postgres://${ROLES.outbox}@db.example:5432/selene?sslmode=require`);
  });

  it("generates a password per login role once, into a file only its owner reads", async () => {
    const dir = await mkdtemp(join(tmpdir(), "selene-passwords-"));
    try {
      const file = join(dir, "db-role-passwords.json");
      const first = await ensureRolePasswords(file);
      const logins = ROLE_DEFINITIONS.filter((role) => role.login).map((role) => role.name);
      expect(Object.keys(first)).to.have.members(logins);
      for (const password of Object.values(first)) expect(password).to.match(/^[0-9a-f]{36}$/);
      expect((await stat(file)).mode & 0o777).to.equal(0o600);
      expect(await ensureRolePasswords(file)).to.deep.equal(first);
      expect(JSON.parse(await readFile(file, "utf8"))).to.deep.equal(first);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
