/**
 * The Secrets of the podman run, in the two shapes podman 4.3's `kube play` reads from
 * `podman secret create`: a secret volume wants a Kubernetes Secret whose `data` values are the file
 * contents as they are (not base64), one file per key (it ignores `items`, so each key is already the
 * file name the runtime reads); an env `secretKeyRef` wants a JSON map of key to base64 value.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { roleDatabaseUrl } from "../database-roles.js";
import { DATABASE_ROLES } from "../mesh-processes.js";

/** One secret to create: its name and the bytes of the file given to `podman secret create`. */
export interface PodmanSecret {
  readonly name: string;
  readonly content: string;
}

/** The login that owns the database and runs the migrations (k8s/base/postgres-cluster.yaml). */
export const MIGRATIONS_LOGIN = "selene_migrations";

/** A secret mounted as files: `<name>-tls` holding ca.crt, <identity>.crt and <identity>.key. */
export function certificateSecret(secretName: string, identity: string, pkiDir: string): PodmanSecret {
  const files = ["ca.crt", `${identity}.crt`, `${identity}.key`];
  const data = Object.fromEntries(files.map((file) => [file, readFileSync(join(pkiDir, file), "utf8")]));
  return {
    name: secretName,
    content: JSON.stringify({ apiVersion: "v1", kind: "Secret", metadata: { name: secretName }, data }),
  };
}

/** A secret read by env `secretKeyRef`. */
export function envSecret(name: string, values: Readonly<Record<string, string>>): PodmanSecret {
  const data = Object.fromEntries(Object.entries(values).map(([k, v]) => [k, Buffer.from(v).toString("base64")]));
  return { name, content: JSON.stringify(data) };
}

/**
 * The database Secrets the manifests name: migrations-database (the migrating login) and
 * <service>-database for each schema owner, every URL on `host`, passwords from `passwords`.
 */
export function databaseSecrets(host: string, passwords: Readonly<Record<string, string>>): PodmanSecret[] {
  const server = `postgres://${host}:5432/selene`;
  const migrationsPassword = passwords[MIGRATIONS_LOGIN];
  if (migrationsPassword === undefined) throw new Error(`no password for ${MIGRATIONS_LOGIN}`);
  const secrets = [
    envSecret("migrations-database", {
      username: MIGRATIONS_LOGIN,
      password: migrationsPassword,
      url: roleDatabaseUrl(server, MIGRATIONS_LOGIN, migrationsPassword),
    }),
  ];
  for (const [service, role] of Object.entries(DATABASE_ROLES)) {
    const password = passwords[role];
    if (password === undefined) throw new Error(`no password for ${role}`);
    secrets.push(envSecret(`${service}-database`, { url: roleDatabaseUrl(server, role, password) }));
  }
  return secrets;
}

/** The logins that need a password in the podman run. */
export const PASSWORD_LOGINS: readonly string[] = [MIGRATIONS_LOGIN, ...Object.values(DATABASE_ROLES)];
