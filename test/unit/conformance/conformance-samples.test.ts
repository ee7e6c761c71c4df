import { expect } from "chai";
import { parseSamples, SamplesError } from "../../../conformance/conformance-samples.js";

describe("conformance samples", () => {
  it("reads an utterance, the arguments of a read and the fields of an effect", () => {
    const samples = parseSamples({
      capabilities: {
        "nlp.understand": { utterance: "what time is it" },
        "tools.lookup": { read: { query: "capital of Italy" } },
        "reminders.create": { fields: { text: "call mom", when: "+PT2H" } },
      },
    });
    expect(samples.capabilities).to.deep.equal({
      "nlp.understand": { utterance: "what time is it" },
      "tools.lookup": { read: { query: "capital of Italy" } },
      "reminders.create": { fields: { text: "call mom", when: "+PT2H" } },
    });
  });

  it("refuses an unknown member, naming it", () => {
    expect(() => parseSamples({ capabilites: {} }, "s.json")).to.throw(
      SamplesError,
      's.json: unknown member "capabilites"',
    );
  });

  it("refuses a sample with two inputs or none, naming the capability", () => {
    expect(() => parseSamples({ capabilities: { "a.b": { utterance: "x", read: {} } } }, "s.json")).to.throw(
      SamplesError,
      's.json.capabilities["a.b"]: expected exactly one of',
    );
    expect(() => parseSamples({ capabilities: { "a.b": {} } }, "s.json")).to.throw(SamplesError, '["a.b"]');
  });

  it("refuses a value that is not a string, naming its path", () => {
    expect(() => parseSamples({ capabilities: { "a.b": { fields: { n: 1 } } } }, "s.json")).to.throw(
      SamplesError,
      's.json.capabilities["a.b"].fields.n: expected a string',
    );
  });
});
