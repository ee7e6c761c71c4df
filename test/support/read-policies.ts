/** The project's read policies (policy/freshness.json, policy/conflicts.json), as the router reads them. */
import { projectConflictPolicy } from "../../services/runtime/policy/conflict-policy.js";
import { projectFreshnessPolicy } from "../../services/runtime/policy/freshness-policy.js";
import type { ReadPolicies } from "../../services/runtime/turn-decisions/read-decision.js";

/** Both policies of the project. */
export function projectReadPolicies(): ReadPolicies {
  return { freshness: projectFreshnessPolicy(), conflicts: projectConflictPolicy() };
}
