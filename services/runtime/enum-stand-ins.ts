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
  const table = new Map<number, number>();
  for (const value of enumDesc.values) {
    if (release.value[value.number] !== undefined) continue;
    const standIn = resolveStandIn(enumDesc, value, release);
    if (standIn.ok) table.set(value.number, standIn.value.number);
  }
  return table;
}
