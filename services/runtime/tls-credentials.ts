/**
 * mTLS credentials from the PKI directory (`<dir>/ca.crt`, `<dir>/<name>.crt`,
 * `<dir>/<name>.key`): grpc-js server credentials that require a CA-signed
 * client certificate, channel credentials that pin the server's SPIFFE id
 * instead of its hostname, and a watched source of the PEM buffers for an
 * HTTPS/HTTP2 server. Every one of them re-reads the files periodically, so
 * rotated short-lived certificates (`npm run pki -- --rotate`, cert-manager)
 * are served and presented on new connections without a restart.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join } from "node:path";
import type { PeerCertificate } from "node:tls";
import { type ChannelCredentials, experimental, type ServerCredentials } from "@grpc/grpc-js";
import { parseSpiffeId, singleSpiffeId } from "./spiffe-id.js";
import { findIdentity } from "./workload-identities.js";

/** The PEM bytes a TLS endpoint needs: the trusted CA, its certificate and its PKCS#8 key. */
export interface TlsMaterial {
  readonly ca: Buffer;
  readonly cert: Buffer;
  readonly key: Buffer;
}

/** The outcome of one re-read of the PKI files that found them changed. */
export interface CredentialReload {
  readonly name: string;
  /** "rotated": the new files are in use; "rejected": they were inconsistent and the last good ones stay. */
  readonly outcome: "rotated" | "rejected";
  /** Serial number (hex) of the certificate now in use, when rotated. */
  readonly serialNumber?: string;
  /** Expiry of the certificate now in use, when rotated. */
  readonly notAfter?: Date;
  /** Why the files were rejected. */
  readonly error?: Error;
}

/** How the gRPC credentials follow rotation of the files. */
export interface CredentialOptions {
  /** How often the files are re-read, in ms; defaults to 30 s. */
  readonly refreshIntervalMs?: number;
  /** Told about every change seen in the files, for logs and tests. */
  readonly onReload?: (event: CredentialReload) => void;
}

/** Default period of the certificate file re-read. */
export const DEFAULT_REFRESH_INTERVAL_MS = 30_000;

/** The paths of the CA, certificate and key files of an identity. */
export function pkiFiles(pkiDir: string, name: string): { ca: string; cert: string; key: string } {
  return { ca: join(pkiDir, "ca.crt"), cert: join(pkiDir, `${name}.crt`), key: join(pkiDir, `${name}.key`) };
}

/** The checked CA, certificate and key of an identity, for `https`/`http2.createSecureServer` or `tls.connect`. */
export function tlsContextOptions(pkiDir: string, name: string): TlsMaterial {
  const files = pkiFiles(pkiDir, name);
  const material = { ca: readFileSync(files.ca), cert: readFileSync(files.cert), key: readFileSync(files.key) };
  checkMaterial(material, name);
  return material;
}

/** The PKI files of one identity, re-read periodically; what a TLS server outside grpc-js follows. */
export interface TlsMaterialSource {
  /** The files in use: the last consistent set read. */
  current(): TlsMaterial;
  /** Tells `listener` of every rotation from now on; returns the function that stops it. */
  subscribe(listener: (material: TlsMaterial) => void): () => void;
}

/** Watches the PKI files of `name` (checked at once: a bad directory fails here). */
export function watchTlsMaterial(pkiDir: string, name: string, options: CredentialOptions = {}): TlsMaterialSource {
  return new PkiCertificateProvider(pkiDir, name, options);
}

/**
 * Server credentials that present `<name>.crt` and refuse any client without a
 * certificate signed by the CA; rotated files are picked up on new connections.
 */
export function serverCredentials(pkiDir: string, name: string, options: CredentialOptions = {}): ServerCredentials {
  const provider = new PkiCertificateProvider(pkiDir, name, options);
  // grpc-js 1.14 hands this function's two providers to the constructor in swapped order;
  // one provider in both roles makes that harmless.
  return experimental.createCertificateProviderServerCredentials(provider, provider, true);
}

/**
 * Channel credentials that present `<name>.crt`, trust only the CA, and accept a
 * server only when its certificate carries exactly `expectedServerSpiffeId`.
 */
export function clientCredentials(
  pkiDir: string,
  name: string,
  expectedServerSpiffeId: string,
  options: CredentialOptions = {},
): ChannelCredentials {
  const checkServerIdentity = serverIdentityCheck(expectedServerSpiffeId);
  const provider = new PkiCertificateProvider(pkiDir, name, options);
  return experimental.createCertificateProviderChannelCredentials(provider, provider, { checkServerIdentity });
}

/**
 * A `checkServerIdentity` that replaces hostname verification: the server
 * certificate must carry exactly one SPIFFE id and it must be `expected`.
 */
export function serverIdentityCheck(expected: string): (hostname: string, cert: PeerCertificate) => Error | undefined {
  if (parseSpiffeId(expected) === undefined) throw new Error(`"${expected}" is not a SPIFFE id`);
  return (_hostname, cert) => {
    const actual = singleSpiffeId(cert.subjectaltname);
    if (actual === expected) return undefined;
    return new Error(`server identity ${actual ?? "(no single SPIFFE id)"} is not the expected ${expected}`);
  };
}

/** Throws unless the key matches the certificate, the CA signed it, and it carries the identity's one SPIFFE id. */
function checkMaterial(material: TlsMaterial, name: string): X509Certificate {
  const ca = new X509Certificate(material.ca);
  const cert = new X509Certificate(material.cert);
  if (!cert.checkPrivateKey(createPrivateKey(material.key))) {
    throw new Error(`${name}: the private key does not match the certificate`);
  }
  if (!cert.verify(ca.publicKey)) throw new Error(`${name}: the certificate is not signed by the CA`);
  const id = singleSpiffeId(cert.subjectAltName);
  if (id === undefined) throw new Error(`${name}: the certificate does not carry exactly one SPIFFE id`);
  const expected = findIdentity(name)?.spiffeId;
  if (expected !== undefined && id !== expected) throw new Error(`${name}: the certificate is ${id}, not ${expected}`);
  return cert;
}

function sameMaterial(a: TlsMaterial, b: TlsMaterial): boolean {
  return a.ca.equals(b.ca) && a.cert.equals(b.cert) && a.key.equals(b.key);
}

/**
 * A grpc-js certificate provider over the PKI files. Unlike grpc-js's own
 * FileWatcherCertificateProvider it loads synchronously (a bad directory fails
 * at startup, and a server accepts from its first connection), notifies only on
 * change, and keeps the last good files when a re-read sees an inconsistent set
 * (e.g. the new key next to the old certificate, mid-rotation) instead of
 * serving nothing until the next refresh.
 */
class PkiCertificateProvider implements experimental.CertificateProvider, TlsMaterialSource {
  readonly #files: { ca: string; cert: string; key: string };
  readonly #name: string;
  readonly #refreshIntervalMs: number;
  readonly #onReload: ((event: CredentialReload) => void) | undefined;
  readonly #caListeners = new Set<experimental.CaCertificateUpdateListener>();
  readonly #identityListeners = new Set<experimental.IdentityCertificateUpdateListener>();
  readonly #materialListeners = new Set<(material: TlsMaterial) => void>();
  #current: TlsMaterial;
  /** The files (or the read error) last rejected, so a lasting problem is reported once. */
  #lastRejected: TlsMaterial | string | undefined;
  #timer: NodeJS.Timeout | undefined;
  #reading = false;

  constructor(pkiDir: string, name: string, options: CredentialOptions) {
    this.#name = name;
    this.#files = pkiFiles(pkiDir, name);
    this.#refreshIntervalMs = options.refreshIntervalMs ?? DEFAULT_REFRESH_INTERVAL_MS;
    if (!(this.#refreshIntervalMs > 0)) throw new Error(`refreshIntervalMs must be positive`);
    this.#onReload = options.onReload;
    this.#current = tlsContextOptions(pkiDir, name);
  }

  addCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    this.#caListeners.add(listener);
    this.#startWatching();
    // Asynchronous on purpose: grpc-js registers its own watcher right after adding the listener.
    process.nextTick(listener, { caCertificate: this.#current.ca });
  }

  removeCaCertificateListener(listener: experimental.CaCertificateUpdateListener): void {
    this.#caListeners.delete(listener);
    this.#maybeStopWatching();
  }

  addIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    this.#identityListeners.add(listener);
    this.#startWatching();
    process.nextTick(listener, { certificate: this.#current.cert, privateKey: this.#current.key });
  }

  removeIdentityCertificateListener(listener: experimental.IdentityCertificateUpdateListener): void {
    this.#identityListeners.delete(listener);
    this.#maybeStopWatching();
  }

  current(): TlsMaterial {
    return this.#current;
  }

  subscribe(listener: (material: TlsMaterial) => void): () => void {
    this.#materialListeners.add(listener);
    this.#startWatching();
    return () => {
      this.#materialListeners.delete(listener);
      this.#maybeStopWatching();
    };
  }

  #startWatching(): void {
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => void this.#refresh(), this.#refreshIntervalMs);
    this.#timer.unref(); // the server or channel using the credentials keeps the process alive, not this timer
  }

  #maybeStopWatching(): void {
    const listeners = this.#caListeners.size + this.#identityListeners.size + this.#materialListeners.size;
    if (listeners > 0 || this.#timer === undefined) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
  }

  async #refresh(): Promise<void> {
    if (this.#reading) return;
    this.#reading = true;
    let next: TlsMaterial | undefined;
    try {
      const [ca, cert, key] = await Promise.all([
        readFile(this.#files.ca),
        readFile(this.#files.cert),
        readFile(this.#files.key),
      ]);
      next = { ca, cert, key };
      if (sameMaterial(next, this.#current)) return;
      if (typeof this.#lastRejected === "object" && sameMaterial(next, this.#lastRejected)) return;
      const cert509 = checkMaterial(next, this.#name);
      const previous = this.#current;
      this.#current = next;
      this.#lastRejected = undefined;
      if (!next.cert.equals(previous.cert) || !next.key.equals(previous.key)) {
        for (const listener of this.#identityListeners) listener({ certificate: next.cert, privateKey: next.key });
      }
      if (!next.ca.equals(previous.ca)) {
        for (const listener of this.#caListeners) listener({ caCertificate: next.ca });
      }
      for (const listener of this.#materialListeners) listener(next);
      this.#onReload?.({
        name: this.#name,
        outcome: "rotated",
        serialNumber: cert509.serialNumber,
        notAfter: new Date(cert509.validTo),
      });
    } catch (err) {
      // A missing or half-rotated set: keep serving the last good files and look again next tick.
      const error = err instanceof Error ? err : new Error(String(err));
      if (next === undefined && this.#lastRejected === error.message) return;
      this.#lastRejected = next ?? error.message;
      this.#onReload?.({ name: this.#name, outcome: "rejected", error });
    } finally {
      this.#reading = false;
    }
  }
}
