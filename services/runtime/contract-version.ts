/**
 * The contract version policy: a server at version N (major.minor) accepts N
 * and N-1 of the same major. docs/CONTRACTS.md explains the policy.
 */

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

/** The version of the contracts in proto/ (bump the minor when adding to a v1 package). */
export const CURRENT_CONTRACT_VERSION: Version = Object.freeze({ major: 1, minor: 0 });

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
