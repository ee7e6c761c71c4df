/**
 * The single entry of the tools engine's logic: checks a read's arguments and dispatches it to
 * the knowledge base, the clock or the unit converter, so the gRPC server stays thin.
 */
import type { ReadResult } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { currentTime } from "./clock.js";
import { lookup } from "./knowledge-base.js";
import { ToolError } from "./tool-error.js";
import { convert } from "./unit-conversion.js";

/** The capabilities this engine serves, sorted. */
export const TOOLS_CAPABILITIES = ["tools.convert", "tools.lookup", "tools.time"] as const;

/** One capability this engine serves. */
export type ToolsCapability = (typeof TOOLS_CAPABILITIES)[number];

/** The arguments of one capability: required ones in priority order, then optional ones. */
export interface ToolsArguments {
  /** Arguments that must be present and non-empty, highest priority first. */
  readonly required: readonly string[];
  /** Arguments that may be present. */
  readonly optional: readonly string[];
}

/** The arguments each capability takes (the same names as the NLP engine's fields). */
export const TOOLS_ARGUMENTS: Readonly<Record<ToolsCapability, ToolsArguments>> = {
  "tools.convert": { required: ["value", "from_unit", "to_unit"], optional: [] },
  "tools.lookup": { required: ["query"], optional: [] },
  "tools.time": { required: [], optional: ["timezone"] },
};

/** Whether this engine serves a capability name. */
export function isToolsCapability(name: string): name is ToolsCapability {
  return (TOOLS_CAPABILITIES as readonly string[]).includes(name);
}

/**
 * Runs a read. Returns undefined only for tools.lookup when the knowledge base does not know
 * the answer (the server refuses). Throws ToolError for an unknown capability, an unknown or a
 * missing argument, and for the refusals of the clock and the converter.
 */
export function read(
  capability: ToolsCapability,
  args: Readonly<Record<string, string>>,
  now: Date,
): ReadResult | undefined {
  if (!isToolsCapability(capability)) throw new ToolError("UNKNOWN_CAPABILITY", "", "capability not served here");
  const spec = TOOLS_ARGUMENTS[capability];
  const allowed = new Set([...spec.required, ...spec.optional]);
  const unknown = Object.keys(args)
    .sort()
    .find((name) => !allowed.has(name));
  if (unknown !== undefined) throw new ToolError("UNKNOWN_ARGUMENT", unknown, "argument not taken by the capability");
  const missing = spec.required.find((name) => (args[name] ?? "") === "");
  if (missing !== undefined) throw new ToolError("MISSING_ARGUMENT", missing, "required argument missing");
  switch (capability) {
    case "tools.lookup":
      return lookup(args.query!, now);
    case "tools.time":
      return currentTime(args.timezone, now);
    case "tools.convert":
      return convert(args.value!, args.from_unit!, args.to_unit!, now);
  }
}
