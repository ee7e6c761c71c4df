/**
 * Which contract version the router speaks to each engine: the highest one the
 * engine announces in Describe that the router's window (N and N-1) holds. An
 * engine still at N-1 keeps being routed: every request the router sends it
 * declares at most that version (a turn at N reaches it as N-1; a turn at N-1
 * stays N-1), and its answers, shaped for N-1, pass the router's validator
 * since a minor version only adds.
 */
import type { ContractVersion } from "../../gen/es/selene/kernel/v1/envelope_pb.js";
import { isAtLeast, isSupported, supportedRange, type Version } from "../runtime/contract-version.js";

/** The highest of `announced` within the router's window; undefined when none is. */
export function commonVersion(announced: readonly Version[]): Version | undefined {
  const window = supportedRange();
  const shared = announced.filter((v) => isSupported(v, window));
  shared.sort((a, b) => a.major - b.major || a.minor - b.minor);
  const best = shared.at(-1);
  return best === undefined ? undefined : { major: best.major, minor: best.minor };
}

/** Parses "major.minor" (the supported_max of an UNSUPPORTED_CONTRACT_VERSION refusal). */
export function parseVersion(text: string | undefined): Version | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})$/.exec(text ?? "");
  return m === null ? undefined : { major: Number(m[1]), minor: Number(m[2]) };
}

/** `request` with its envelope's version lowered to `spoken` when it declares a later one. */
export function atMost<R>(request: R, spoken: Version): R {
  const envelope = (request as { envelope?: { contractVersion?: ContractVersion } }).envelope;
  const declared = envelope?.contractVersion;
  if (envelope === undefined || declared === undefined || !isAtLeast(declared, spoken)) return request;
  if (declared.major === spoken.major && declared.minor === spoken.minor) return request;
  return { ...request, envelope: { ...envelope, contractVersion: { ...declared, ...spoken } } };
}
