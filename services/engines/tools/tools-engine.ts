/**
 * The tools engine's EngineService handlers: read-only lookups (knowledge base,
 * clock, unit conversion) whose results carry provenance.
 */
import { CapabilityKind } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { describeEngine } from "../../runtime/engine-description.js";
import { notServed } from "../../runtime/engine-rejection.js";
import { SeleneError } from "../../runtime/selene-error.js";
import type { EngineHandlers } from "../../runtime/serve-engine.js";
import { isToolsCapability, read, TOOLS_ARGUMENTS, TOOLS_CAPABILITIES } from "./read.js";
import { ToolError } from "./tool-error.js";

/** Creates the tools engine's handlers; `now` is injectable for tests. */
export function createToolsEngine(now: () => Date = () => new Date()): EngineHandlers {
  return {
    async describe() {
      return describeEngine(
        "tools",
        TOOLS_CAPABILITIES.map((name) => ({
          name,
          kind: CapabilityKind.READ,
          requiredFields: [...TOOLS_ARGUMENTS[name].required],
        })),
      );
    },
    async invoke(request) {
      const { capability } = request;
      if (!isToolsCapability(capability) || request.input.case !== "read") {
        throw notServed("tools", `${capability} with ${request.input.case ?? "no"} input`);
      }
      try {
        const result = read(capability, request.input.value.args, now());
        if (result === undefined) {
          throw new SeleneError(ReasonCode.ENGINE_REJECTED, "the knowledge base has no answer to that question");
        }
        return { result: { case: "readResult", value: result } };
      } catch (e) {
        if (!(e instanceof ToolError)) throw e;
        throw new SeleneError(ReasonCode.FIELD_INVALID, e.message, {
          fieldPath: `read.args["${e.argument}"]`,
          metadata: { tool_error: e.code },
        });
      }
    },
    async simulate() {
      throw notServed("tools", "effects");
    },
    async commit() {
      throw notServed("tools", "effects");
    },
  };
}
