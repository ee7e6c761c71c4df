/**
 * SPIFFE ids and where they live in a certificate: strict parsing of the
 * `spiffe://<trust-domain>/<path>` form, and extraction from the
 * `subjectaltname` string Node gives for a peer certificate. Everything fails
 * closed: anything ambiguous yields no identity.
 */

/** A parsed SPIFFE id. */
export interface SpiffeId {
  /** The full id, exactly as parsed. */
  readonly uri: string;
  /** The trust domain, e.g. `selene.local`. */
  readonly trustDomain: string;
  /** The path with its leading slash, e.g. `/ns/selene/sa/router`. */
  readonly path: string;
  /** The path segments, e.g. `["ns", "selene", "sa", "router"]`. */
  readonly segments: readonly string[];
}

/** One entry of a subjectAltName string, e.g. `{ type: "URI", value: "spiffe://..." }`. */
export interface SubjectAltNameEntry {
  readonly type: string;
  readonly value: string;
}

/** The longest SPIFFE id accepted, in bytes (the SPIFFE spec's limit for URI SANs). */
export const MAX_SPIFFE_ID_BYTES = 2048;

const SCHEME = "spiffe://";
// The SPIFFE spec's character sets: trust domains are lowercase, path segments are not.
const TRUST_DOMAIN_CHARS = /^[a-z0-9._-]+$/;
const SEGMENT_CHARS = /^[A-Za-z0-9._-]+$/;

/** Parses a SPIFFE id, or returns undefined when it is not one (no query, fragment, port, userinfo or empty path). */
export function parseSpiffeId(uri: string): SpiffeId | undefined {
  if (Buffer.byteLength(uri, "utf8") > MAX_SPIFFE_ID_BYTES || !uri.startsWith(SCHEME)) return undefined;
  const rest = uri.slice(SCHEME.length);
  const slash = rest.indexOf("/");
  if (slash <= 0) return undefined;
  const trustDomain = rest.slice(0, slash);
  const path = rest.slice(slash);
  // The character sets exclude ':', '@', '?', '#' and '%', so ports, userinfo, queries,
  // fragments and percent-encoding are all rejected here.
  if (!TRUST_DOMAIN_CHARS.test(trustDomain)) return undefined;
  const segments = path.slice(1).split("/");
  for (const segment of segments) {
    if (!SEGMENT_CHARS.test(segment) || segment === "." || segment === "..") return undefined;
  }
  return Object.freeze({ uri, trustDomain, path, segments: Object.freeze(segments) });
}

/**
 * Splits Node's subjectaltname string (`DNS:a, URI:b, IP Address:1.2.3.4`) into
 * entries; Node JSON-quotes values holding separators, so a quoted value is one
 * entry whatever it contains. A malformed string yields no entries at all.
 */
export function parseSubjectAltName(san: string | undefined): SubjectAltNameEntry[] {
  if (san === undefined || san === "") return [];
  const entries: SubjectAltNameEntry[] = [];
  let at = 0;
  while (at < san.length) {
    const colon = san.indexOf(":", at);
    if (colon <= at) return [];
    const type = san.slice(at, colon);
    let value: string;
    let end: number;
    if (san[colon + 1] === '"') {
      end = closingQuote(san, colon + 2);
      if (end < 0) return [];
      try {
        value = JSON.parse(san.slice(colon + 1, end + 1)) as string;
      } catch {
        return [];
      }
      end += 1;
      if (end < san.length && !san.startsWith(", ", end)) return [];
    } else {
      const separator = san.indexOf(", ", colon + 1);
      end = separator < 0 ? san.length : separator;
      value = san.slice(colon + 1, end);
    }
    entries.push({ type, value });
    at = end + 2;
    if (end + 2 === san.length) return []; // a trailing separator is not Node's format
  }
  return entries;
}

/** Every valid SPIFFE id among the URI entries of a subjectaltname string. */
export function spiffeIdsFromSubjectAltName(san: string | undefined): string[] {
  return parseSubjectAltName(san)
    .filter((entry) => entry.type === "URI" && parseSpiffeId(entry.value) !== undefined)
    .map((entry) => entry.value);
}

/**
 * The SPIFFE id of an X.509-SVID: present only when the certificate carries
 * exactly one URI SAN and that URI is a valid SPIFFE id; otherwise undefined.
 */
export function singleSpiffeId(san: string | undefined): string | undefined {
  const uris = parseSubjectAltName(san).filter((entry) => entry.type === "URI");
  if (uris.length !== 1) return undefined;
  const only = uris[0]!.value;
  return parseSpiffeId(only) === undefined ? undefined : only;
}

/** Index of the unescaped closing quote at or after `from`, or -1. */
function closingQuote(text: string, from: number): number {
  for (let i = from; i < text.length; i++) {
    if (text[i] === "\\") i++;
    else if (text[i] === '"') return i;
  }
  return -1;
}
