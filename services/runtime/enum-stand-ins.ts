/**
 * Enum values added after a release, and what a caller of that release gets
 * in their place: each such value declares, beside it in its proto, the value
 * of the same enum that stands in for it (the `(selene.kernel.v1.stand_in)`
 * option, evolution.proto). A chain of stand-ins is followed until a value the
 * caller's release has. The proto is the one place these facts live.
 */
import { type DescEnum, type DescEnumValue, getOption } from "@bufbuild/protobuf";
import { stand_in } from "../../gen/es/selene/kernel/v1/evolution_pb.js";

/** Where one value of today's enum leads for a caller of a release that lacks it. */
export type StandIn =
  | { readonly ok: true; readonly value: DescEnumValue }
  /** No declared chain reaches a value of the release: `chain` lists the names followed. */
  | { readonly ok: false; readonly chain: readonly string[] };

/** The value that `value` declares as its stand-in, by name; undefined when it declares none. */
export function declaredStandIn(value: DescEnumValue): string | undefined {
  const name = getOption(value, stand_in);
  return name === "" ? undefined : name;
}

/** Where `value` (of today's `enumDesc`) leads for a release whose enum is `release`. */
export function resolveStandIn(enumDesc: DescEnum, value: DescEnumValue, release: DescEnum): StandIn {
  const chain: string[] = [];
  let at: DescEnumValue | undefined = value;
  while (at !== undefined && !chain.includes(at.name)) {
    if (release.value[at.number] !== undefined) return { ok: true, value: at };
    chain.push(at.name);
    const next = declaredStandIn(at);
    at = next === undefined ? undefined : enumDesc.values.find((v) => v.name === next);
  }
  return { ok: false, chain };
}

/**
 * Today's numbers of `enumDesc` that `release` lacks, each mapped to the number of its stand-in;
 * empty when the release has every value. A value whose chain reaches no value of the release is
 * left out (the gate test test/unit/runtime/enum-stand-ins.test.ts fails on it first).
 */
export function standInTable(enumDesc: DescEnum, release: DescEnum): ReadonlyMap<number, number> {
  let byEnum = tables.get(release);
  if (byEnum === undefined) {
    byEnum = new WeakMap();
    tables.set(release, byEnum);
  }
  let table = byEnum.get(enumDesc);
  if (table === undefined) {
    const built = new Map<number, number>();
    for (const value of enumDesc.values) {
      if (release.value[value.number] !== undefined) continue;
      const standIn = resolveStandIn(enumDesc, value, release);
      if (standIn.ok) built.set(value.number, standIn.value.number);
    }
    table = built;
    byEnum.set(enumDesc, table);
  }
  return table;
}

/** Tables by the release's enum, then today's: worked out once each. */
const tables = new WeakMap<DescEnum, WeakMap<DescEnum, ReadonlyMap<number, number>>>();

/**
 * The numbers a caller of `release` may have been shown as `shown`: `shown` itself and every value
 * the release lacks whose stand-in it is. A verifier that hashes what was stored (the audit chain)
 * tries each, so a record shaped for an older reader still verifies, and names its stored value.
 */
export function valuesShownAs(enumDesc: DescEnum, release: DescEnum, shown: number): number[] {
  const out = [shown];
  for (const [from, to] of standInTable(enumDesc, release)) if (to === shown) out.push(from);
  return out;
}
