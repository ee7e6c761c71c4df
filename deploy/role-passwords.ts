/**
 * The local mesh's passwords of the service login roles: random, generated on first use into a
 * file of the launcher's home (mode 0600), never in the repository. The embedded server gets them
 * set at every start; in Kubernetes each service's URL, password included, comes from a Secret.
 */
import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { ROLE_DEFINITIONS } from "./grants-matrix.js";

/** Role -> password. */
export type RolePasswords = Readonly<Record<string, string>>;

/** The passwords stored in `file`, if it exists. */
export async function readRolePasswords(file: string): Promise<RolePasswords | undefined> {
  try {
    return JSON.parse(await readFile(file, "utf8")) as RolePasswords;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw err;
  }
}

/** The passwords in `file`, with one generated (and saved) for every login role that has none yet. */
export async function ensureRolePasswords(file: string): Promise<RolePasswords> {
  const stored = (await readRolePasswords(file)) ?? {};
  const passwords: Record<string, string> = { ...stored };
  for (const role of ROLE_DEFINITIONS) {
    if (role.login && passwords[role.name] === undefined) passwords[role.name] = randomBytes(18).toString("hex");
  }
  if (Object.keys(passwords).length !== Object.keys(stored).length) {
    await writeFile(file, `${JSON.stringify(passwords, null, 2)}\n`, { mode: 0o600 });
  }
  return passwords;
}
