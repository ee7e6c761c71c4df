/**
 * Unit conversion (tools.convert) with exact defining factors: length (m, km, cm, mi, ft, in),
 * mass (kg, g, lb, oz), temperature (c, f, k) and volume (l, ml, gal = US gallon). Unit ids are
 * accepted in any case. Results are rounded to 6 significant digits and printed as ECMAScript
 * prints that number (no trailing zeros; exponent form only below 1e-6 or from 1e21), so one
 * input always gives one string. Refusals are ToolErrors: UNKNOWN_UNIT, INCOMPATIBLE_UNITS,
 * INVALID_VALUE (not a plain decimal, a negative length/mass/volume, or below absolute zero).
 */

import type { ReadResult } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { canonicalDecimal } from "../../runtime/canonical-decimal.js";
import { buildReadResult } from "./provenance.js";
import { ToolError } from "./tool-error.js";

/** What a unit measures. */
export type Dimension = "length" | "mass" | "temperature" | "volume";

/** One unit: value_in_base = (value + offset) * factor, the base being m, kg, K or l. */
export interface UnitDefinition {
  /** The unit id, such as "km". */
  readonly id: string;
  /** What it measures. */
  readonly dimension: Dimension;
  /** How it is written in answers, such as "°C". */
  readonly symbol: string;
  /** Size of one unit in the base unit (exact by definition). */
  readonly factor: number;
  /** Added before scaling; non-zero only for °C and °F. */
  readonly offset: number;
}

/** The source id of conversion results. */
export const UNITS_SOURCE_ID = "units:exact-factors";

/** Significant digits of every conversion result. */
export const SIGNIFICANT_DIGITS = 6;

function unit(id: string, dimension: Dimension, symbol: string, factor: number, offset = 0): UnitDefinition {
  return { id, dimension, symbol, factor, offset };
}

/** The units this engine converts, by id. */
export const UNITS: ReadonlyMap<string, UnitDefinition> = new Map(
  [
    unit("m", "length", "m", 1),
    unit("km", "length", "km", 1000),
    unit("cm", "length", "cm", 0.01),
    unit("mi", "length", "mi", 1609.344),
    unit("ft", "length", "ft", 0.3048),
    unit("in", "length", "in", 0.0254),
    unit("kg", "mass", "kg", 1),
    unit("g", "mass", "g", 0.001),
    unit("lb", "mass", "lb", 0.45359237),
    unit("oz", "mass", "oz", 0.028349523125),
    unit("k", "temperature", "K", 1),
    unit("c", "temperature", "°C", 1, 273.15),
    unit("f", "temperature", "°F", 5 / 9, 459.67),
    unit("l", "volume", "L", 1),
    unit("ml", "volume", "mL", 0.001),
    unit("gal", "volume", "gal", 3.785411784),
  ].map((definition) => [definition.id, definition] as const),
);

// Bounded digit runs, no nested quantifiers.
const DECIMAL = /^[-+]?\d{1,15}(?:\.\d{1,10})?$/;

/** Returns the definition of a unit id (any case), or throws UNKNOWN_UNIT naming `argument`. */
export function unitOf(id: string, argument: string): UnitDefinition {
  const definition = UNITS.get(id.toLowerCase());
  if (definition === undefined) throw new ToolError("UNKNOWN_UNIT", argument, "unknown unit");
  return definition;
}

/** Converts a number between two units, unrounded; throws INCOMPATIBLE_UNITS or INVALID_VALUE. */
export function convertValue(value: number, from: UnitDefinition, to: UnitDefinition): number {
  if (from.dimension !== to.dimension) throw new ToolError("INCOMPATIBLE_UNITS", "to_unit", "units do not match");
  if (!Number.isFinite(value)) throw new ToolError("INVALID_VALUE", "value", "value is not finite");
  const base = (value + from.offset) * from.factor;
  // Below absolute zero, or a negative size: no physical quantity to convert.
  if (base < 0) throw new ToolError("INVALID_VALUE", "value", "value is out of range");
  if (from.id === to.id) return value;
  return base / to.factor - to.offset;
}

/** Rounds to 6 significant digits and prints the result the one way ECMAScript prints that number. */
export function formatSignificant(value: number): string {
  const rounded = Number(value.toPrecision(SIGNIFICANT_DIGITS));
  return String(Object.is(rounded, -0) ? 0 : rounded);
}

/** Converts a decimal value between two unit ids and returns the answer with LIVE provenance. */
export function convert(value: string, fromUnit: string, toUnit: string, now: Date): ReadResult {
  if (!DECIMAL.test(value)) throw new ToolError("INVALID_VALUE", "value", "value is not a plain decimal number");
  const from = unitOf(fromUnit, "from_unit");
  const to = unitOf(toUnit, "to_unit");
  const shown = canonicalDecimal(value);
  const result = formatSignificant(convertValue(Number(value), from, to));
  const nowMs = now.getTime();
  return buildReadResult({
    text: `${shown} ${from.symbol} = ${result} ${to.symbol}.`,
    data: { value: shown, from_unit: from.id, to_unit: to.id, result },
    sources: [
      {
        id: UNITS_SOURCE_ID,
        uri: "selene:units/exact-factors",
        trust: 100,
        retrievedAtMs: nowMs,
        content: { from: { ...from }, to: { ...to } },
      },
    ],
    retrievedAtMs: nowMs,
    freshness: { kind: "live" },
    nowMs,
  });
}
