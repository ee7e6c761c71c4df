/**
 * Issues the local mTLS PKI: one ECDSA P-256 CA (30 days) and short-lived leaf
 * certificates whose URI SAN is the holder's SPIFFE id, one per entry of the
 * identity table, and one per --engine NAME (a new engine outside the table).
 * Idempotent; every file is replaced atomically so a certificate watcher never
 * reads half a file.
 *
 * Usage: npm run pki -- [--dir .selene/pki] [--force] [--rotate] [--engine NAME]...
 */
import { createPrivateKey, KeyObject, X509Certificate as NodeX509, randomBytes, webcrypto } from "node:crypto";
import { chmod, mkdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import type * as X509 from "@peculiar/x509";
import { singleSpiffeId } from "../services/runtime/spiffe-id.js";
import {
  engineIdentity,
  IDENTITIES,
  type IdentityKind,
  type WorkloadIdentity,
} from "../services/runtime/workload-identities.js";

/** Options of one PKI run. */
export interface PkiOptions {
  /** Directory of the PEM files (created with mode 0700). */
  readonly dir: string;
  /** Re-issue everything, the CA included. */
  readonly force?: boolean;
  /** Re-issue every leaf under the existing CA. */
  readonly rotate?: boolean;
  /** The clock, for tests; defaults to the current time. */
  readonly now?: Date;
  /** Leaf lifetime in hours; defaults to 24. */
  readonly leafHours?: number;
  /** Names of engines outside the mesh's table to issue workload certificates for too (a new engine). */
  readonly engines?: readonly string[];
}

/** One certificate written by a run. */
export interface PkiIssue {
  readonly name: string;
  readonly kind: "ca" | IdentityKind;
  /** The SPIFFE id in the URI SAN; absent for the CA. */
  readonly spiffeId?: string;
  readonly notAfter: Date;
  /** Why it was issued, e.g. "missing", "expires within 2h", "rotate". */
  readonly reason: string;
}

/** What a run did: nothing (up to date) or the certificates it issued. */
export interface PkiSummary {
  readonly dir: string;
  readonly upToDate: boolean;
  readonly caIssued: boolean;
  readonly issued: readonly PkiIssue[];
  readonly caNotAfter: Date;
}

/** Default directory of the PKI files, relative to the working directory. */
export const DEFAULT_PKI_DIR = ".selene/pki";
/** Default leaf lifetime in hours. */
export const DEFAULT_LEAF_HOURS = 24;
/** A leaf with less than this many hours left is re-issued. */
export const MIN_REMAINING_HOURS = 2;
const CA_DAYS = 30;
const HOUR_MS = 3_600_000;
// Back-date notBefore so that peers whose clocks lag a little accept a fresh certificate.
const BACKDATE_MS = 5 * 60_000;
const EC_KEY = { name: "ECDSA", namedCurve: "P-256" } as const;
const SIGNING = { name: "ECDSA", hash: "SHA-256" } as const;
const ORG = "O=Selene OS";

type X509Module = typeof X509;

/**
 * Loads @peculiar/x509 bound to Node's webcrypto. The library's DI container
 * (tsyringe) needs the Reflect metadata polyfill loaded first.
 */
export async function loadX509(): Promise<X509Module> {
  await import("reflect-metadata");
  const x509 = await import("@peculiar/x509");
  // Node's webcrypto is the standard Crypto; the library's typings name the DOM type.
  x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[1]);
  return x509;
}

/** Ensures the CA and every identity's certificate exist and are fresh; returns what was issued. */
export async function ensurePki(options: PkiOptions): Promise<PkiSummary> {
  const x509 = await loadX509();
  const dir = resolve(options.dir);
  const now = options.now ?? new Date();
  const leafHours = options.leafHours ?? DEFAULT_LEAF_HOURS;
  if (!(leafHours > 0)) throw new Error(`leafHours must be positive, got ${leafHours}`);
  await mkdir(dir, { recursive: true, mode: 0o700 });

  const issued: PkiIssue[] = [];
  const minCaLife = (leafHours + MIN_REMAINING_HOURS) * HOUR_MS;
  const existing = options.force ? { reason: "force" } : await loadCa(x509, dir, now, minCaLife);
  let ca: LoadedCa;
  if ("cert" in existing) {
    ca = existing;
  } else {
    ca = await issueCa(x509, dir, now);
    issued.push({ name: "ca", kind: "ca", notAfter: ca.cert.notAfter, reason: existing.reason });
  }
  const caIssued = issued.length > 0;

  for (const identity of [...IDENTITIES, ...(options.engines ?? []).map(engineIdentity)]) {
    const reason = caIssued ? "new CA" : options.rotate ? "rotate" : await staleLeafReason(dir, identity, ca.node, now);
    if (reason === undefined) continue;
    const notAfter = await issueLeaf(x509, dir, identity, ca, now, leafHours);
    issued.push({ name: identity.name, kind: identity.kind, spiffeId: identity.spiffeId, notAfter, reason });
  }
  return { dir, upToDate: issued.length === 0, caIssued, issued, caNotAfter: ca.cert.notAfter };
}

interface LoadedCa {
  readonly cert: X509.X509Certificate;
  readonly node: NodeX509;
  readonly key: webcrypto.CryptoKey;
}

/** The existing CA when usable, else why it must be re-issued. */
async function loadCa(
  x509: X509Module,
  dir: string,
  now: Date,
  minLifeMs: number,
): Promise<LoadedCa | { reason: string }> {
  const files = await readPair(dir, "ca");
  if (files === undefined) return { reason: "missing" };
  try {
    const node = new NodeX509(files.cert);
    const privateKey = createPrivateKey(files.key);
    if (!node.ca || !node.checkPrivateKey(privateKey)) return { reason: "key does not match" };
    if (Date.parse(node.validTo) - now.getTime() < minLifeMs) return { reason: "expires before a new leaf would" };
    const der = privateKey.export({ format: "der", type: "pkcs8" });
    const key = await webcrypto.subtle.importKey("pkcs8", der, EC_KEY, true, ["sign"]);
    return { cert: new x509.X509Certificate(files.cert), node, key };
  } catch {
    return { reason: "unreadable" };
  }
}

/** Why a leaf must be re-issued, or undefined when it is valid, matches its key, chains to the CA and lives long enough. */
async function staleLeafReason(
  dir: string,
  identity: WorkloadIdentity,
  ca: NodeX509,
  now: Date,
): Promise<string | undefined> {
  const files = await readPair(dir, identity.name);
  if (files === undefined) return "missing";
  try {
    const cert = new NodeX509(files.cert);
    if (!cert.checkPrivateKey(createPrivateKey(files.key))) return "key does not match";
    if (!cert.verify(ca.publicKey)) return "not signed by the CA";
    if (singleSpiffeId(cert.subjectAltName) !== identity.spiffeId) return "wrong SPIFFE id";
    if (Date.parse(cert.validFrom) > now.getTime()) return "not yet valid";
    if (Date.parse(cert.validTo) - now.getTime() < MIN_REMAINING_HOURS * HOUR_MS) {
      return `expires within ${MIN_REMAINING_HOURS}h`;
    }
    return undefined;
  } catch {
    return "unreadable";
  }
}

async function issueCa(x509: X509Module, dir: string, now: Date): Promise<LoadedCa> {
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: `CN=Selene OS local CA, ${ORG}`,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter: new Date(now.getTime() + CA_DAYS * 24 * HOUR_MS),
    signingAlgorithm: SIGNING,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  await writePair(dir, "ca", keys.privateKey, cert.toString("pem"));
  return { cert, node: new NodeX509(cert.toString("pem")), key: keys.privateKey };
}

async function issueLeaf(
  x509: X509Module,
  dir: string,
  identity: WorkloadIdentity,
  ca: LoadedCa,
  now: Date,
  leafHours: number,
): Promise<Date> {
  const keys = await generateKeys();
  const names: X509.JsonGeneralName[] = [{ type: "url", value: identity.spiffeId }];
  const usages: string[] = [x509.ExtendedKeyUsage.clientAuth];
  if (identity.kind === "workload") {
    const n = identity.name;
    for (const dns of ["localhost", n, `${n}.selene.svc`, `${n}.selene.svc.cluster.local`]) {
      names.push({ type: "dns", value: dns });
    }
    names.push({ type: "ip", value: "127.0.0.1" });
    usages.unshift(x509.ExtendedKeyUsage.serverAuth);
  }
  const caKeyId = ca.cert.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId;
  const notAfter = new Date(Math.min(now.getTime() + leafHours * HOUR_MS, ca.cert.notAfter.getTime()));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject: `CN=${identity.name}, OU=${identity.kind}, ${ORG}`,
    issuer: ca.cert.subjectName,
    notBefore: new Date(now.getTime() - BACKDATE_MS),
    notAfter,
    signingAlgorithm: SIGNING,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(usages),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ...(caKeyId === undefined ? [] : [new x509.AuthorityKeyIdentifierExtension(caKeyId)]),
    ],
  });
  await writePair(dir, identity.name, keys.privateKey, cert.toString("pem"));
  return cert.notAfter;
}

async function readPair(dir: string, stem: string): Promise<{ cert: string; key: string } | undefined> {
  try {
    const [cert, key] = await Promise.all([
      readFile(join(dir, `${stem}.crt`), "utf8"),
      readFile(join(dir, `${stem}.key`), "utf8"),
    ]);
    return { cert, key };
  } catch {
    return undefined;
  }
}

async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(EC_KEY, true, ["sign", "verify"])) as webcrypto.CryptoKeyPair;
}

/** A random positive 128-bit serial number in hex. */
function serialNumber(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0]! & 0x7f) | 0x40;
  return bytes.toString("hex");
}

/** Writes a file through a flushed temp file and a rename, so readers see the old or the new content, never a mix. */
async function writeAtomic(path: string, data: string, mode: number): Promise<void> {
  const temp = `${path}.${process.pid}.${randomBytes(4).toString("hex")}.tmp`;
  try {
    await writeFile(temp, data, { mode, flag: "wx", flush: true });
    await chmod(temp, mode); // the open mode is filtered by the umask; set it exactly
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/** Writes a key pair's PKCS#8 key, then its certificate: a reader that sees the new key with the old certificate rejects the pair and retries. */
async function writePair(dir: string, stem: string, key: webcrypto.CryptoKey, certPem: string): Promise<void> {
  const keyPem = KeyObject.from(key).export({ format: "pem", type: "pkcs8" }) as string;
  await writeAtomic(join(dir, `${stem}.key`), keyPem, 0o600);
  await writeAtomic(join(dir, `${stem}.crt`), certPem, 0o644);
}

/** The CLI: runs ensurePki and prints one line per certificate issued, or one "up to date" line. */
export async function main(argv: readonly string[]): Promise<void> {
  const { values } = parseArgs({
    args: [...argv],
    options: {
      dir: { type: "string", default: DEFAULT_PKI_DIR },
      force: { type: "boolean", default: false },
      rotate: { type: "boolean", default: false },
      engine: { type: "string", multiple: true, default: [] },
    },
  });
  const summary = await ensurePki({ ...values, engines: values.engine });
  if (summary.upToDate) {
    console.log(`pki: ${summary.dir} is up to date (CA valid until ${summary.caNotAfter.toISOString()})`);
  }
  for (const issue of summary.issued) {
    const until = issue.notAfter.toISOString();
    console.log(`pki: issued ${issue.name}.crt (${issue.spiffeId ?? "CA"}) valid until ${until} [${issue.reason}]`);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(`pki: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  });
}
