import { readFileSync } from "node:fs";
import { expect } from "chai";
import { parseClarifyPolicy } from "../../../services/runtime/policy/clarify-policy.js";
import { parseConflictPolicy } from "../../../services/runtime/policy/conflict-policy.js";
import { parseFreshnessPolicy } from "../../../services/runtime/policy/freshness-policy.js";
import { PolicyError, policyPath } from "../../../services/runtime/policy/policy-file.js";

// biome-ignore lint/suspicious/noExplicitAny: the tests edit the policies as free JSON.
type Json = Record<string, any>;

const project = (name: string) => JSON.parse(readFileSync(policyPath(name), "utf8")) as Json;

/** The PolicyError's path when `parse` refuses `json`, else "accepted". */
function refusal(parse: (json: unknown, digest: string) => unknown, json: unknown): string {
  try {
    parse(json, "sha256:x");
    return "accepted";
  } catch (e) {
    if (!(e instanceof PolicyError)) throw e;
    return e.path;
  }
}

describe("policy files", () => {
  it("accepts the project's three policies", () => {
    expect(refusal(parseClarifyPolicy, project("clarify"))).to.equal("accepted");
    expect(refusal(parseFreshnessPolicy, project("freshness"))).to.equal("accepted");
    expect(refusal(parseConflictPolicy, project("conflicts"))).to.equal("accepted");
  });

  const clarifyBreaks: [string, (p: Json) => void, string][] = [
    ["an unknown key", (p) => (p.extra = 1), ".extra"],
    ["another version", (p) => (p.version = 2), ".version"],
    ["another tie-break", (p) => (p.unlisted_fields = "random"), ".unlisted_fields"],
    ["a fallback without {field}", (p) => (p.fallback_question.en = "What?"), ".fallback_question.en"],
    [
      "a field without a question in the default locale",
      (p) => delete p.capabilities["reminders.create"].blocking_fields[0].questions.en,
      ".capabilities.reminders.create.blocking_fields[0].questions",
    ],
    [
      "a field listed twice",
      (p) => p.capabilities["tools.convert"].blocking_fields.push(p.capabilities["tools.convert"].blocking_fields[0]),
      ".capabilities.tools.convert.blocking_fields",
    ],
    [
      "an ambiguous value not written normalised",
      (p) => p.capabilities["messages.send"].blocking_fields[0].ambiguous.push("Him"),
      ".capabilities.messages.send.blocking_fields[0].ambiguous[8]",
    ],
    [
      "a pattern that does not compile",
      (p) => (p.capabilities["reminders.create"].blocking_fields[0].valid_pattern = "(["),
      ".capabilities.reminders.create.blocking_fields[0].valid_pattern",
    ],
    ["a capability name of another shape", (p) => (p.capabilities.Bad = { blocking_fields: [] }), ".capabilities.Bad"],
  ];
  for (const [what, breakIt, path] of clarifyBreaks) {
    it(`refuses a clarify policy with ${what}, naming the place`, () => {
      const policy = project("clarify");
      breakIt(policy);
      expect(refusal(parseClarifyPolicy, policy)).to.equal(path);
    });
  }

  it("refuses a freshness policy with a bad duration, an unknown action or no default", () => {
    const duration = project("freshness");
    duration.sources["kb:atlas"].max_age = "3 years";
    expect(refusal(parseFreshnessPolicy, duration)).to.equal(".sources.kb:atlas.max_age");
    const action = project("freshness");
    action.default.action = "ignore";
    expect(refusal(parseFreshnessPolicy, action)).to.equal(".default.action");
    const noDefault = project("freshness");
    delete noDefault.default;
    expect(refusal(parseFreshnessPolicy, noDefault)).to.equal(".default");
  });

  it("refuses a conflict policy naming a rule that does not exist", () => {
    const policy = project("conflicts");
    policy.disputed_rules.push("LOUDEST");
    expect(refusal(parseConflictPolicy, policy)).to.equal(".disputed_rules[2]");
  });
});
