/**
 * The contract version policy: a server at version N (major.minor) accepts N
 * and N-1 of the same major. docs/CONTRACTS.md explains the policy. N itself
 * is declared once, in proto/selene/kernel/v1/version.proto, and read here
 * from the generated descriptor (the Python engine reads the same option).
 */
import { getOption } from "@bufbuild/protobuf";
import { contract_version, file_selene_kernel_v1_version } from "../../gen/es/selene/kernel/v1/version_pb.js";

/** A contract version as plain numbers. */
export interface Version {
  readonly major: number;
  readonly minor: number;
}

/** The inclusive range of contract versions a server accepts. */
export interface VersionRange {
  readonly min: Version;
  readonly max: Version;
}

/** The version of the contracts in proto/: the `contract_version` option of version.proto. */
export const CURRENT_CONTRACT_VERSION: Version = Object.freeze(declaredVersion());

function declaredVersion(): Version {
  const { major, minor } = getOption(file_selene_kernel_v1_version, contract_version);
  if (major === 0) throw new Error("proto/selene/kernel/v1/version.proto declares no contract_version");
  return { major, minor };
}

/** The range a server at `current` accepts: N and N-1 of the same major. */
export function supportedRange(current: Version = CURRENT_CONTRACT_VERSION): VersionRange {
  return Object.freeze({
    min: Object.freeze({ major: current.major, minor: Math.max(0, current.minor - 1) }),
    max: Object.freeze({ major: current.major, minor: current.minor }),
  });
}

/** Formats a version as "major.minor". */
export function formatVersion(v: Version): string {
  return `${v.major}.${v.minor}`;
}

/** Formats a range as "1.0-1.1", or "1.0" when it holds one version. */
export function formatRange(range: VersionRange): string {
  const min = formatVersion(range.min);
  const max = formatVersion(range.max);
  return min === max ? min : `${min}-${max}`;
}

/** Whether `v` lies within `range`. */
export function isSupported(v: Version, range: VersionRange): boolean {
  return v.major === range.min.major && v.minor >= range.min.minor && v.minor <= range.max.minor;
}

/** Whether `v` is `min` or later (a caller at `v` knows what came with `min`). */
export function isAtLeast(v: Version, min: Version): boolean {
  return v.major > min.major || (v.major === min.major && v.minor >= min.minor);
}
