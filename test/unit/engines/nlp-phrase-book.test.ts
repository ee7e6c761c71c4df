import { toBinary } from "@bufbuild/protobuf";
import { expect } from "chai";
import { UnderstandingSchema } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import {
  checkAgainstClarify,
  loadPhraseBook,
  type PhraseBook,
  parsePhraseBook,
  projectPhraseBook,
} from "../../../services/engines/nlp/phrase-book.js";
import { SLOT_EXTRACTORS } from "../../../services/engines/nlp/slot-extractors.js";
import { understand } from "../../../services/engines/nlp/understand.js";
import { projectClarifyPolicy } from "../../../services/runtime/policy/clarify-policy.js";
import { PolicyError, policyPath, readPolicyFile } from "../../../services/runtime/policy/policy-file.js";

const FILE = "nlp-phrases.json";

/** The project's phrase book as JSON, to change one thing at a time. */
function projectJson(): { version: unknown; rules: Record<string, unknown>[] } {
  return structuredClone(readPolicyFile(policyPath("nlp-phrases")).json) as {
    version: unknown;
    rules: Record<string, unknown>[];
  };
}

/** A rule of one pattern. */
function aRule(capability: string, phrases: string[][], extract: string, slots: Record<string, string>) {
  return { capability, patterns: [{ phrases, extract, slots }] };
}

function refusal(json: unknown): PolicyError {
  try {
    parsePhraseBook(json, FILE);
  } catch (e) {
    if (e instanceof PolicyError) return e;
    throw e;
  }
  return expect.fail("the phrase book was accepted");
}

describe("nlp phrase book", () => {
  it("loads the project's file, every capability once, in precedence order", () => {
    const book = projectPhraseBook();
    const capabilities = book.rules.map((rule) => rule.capability);
    expect(new Set(capabilities).size).to.equal(capabilities.length);
    // Commands anchored on their verb come before the questions; tools.lookup takes any question left.
    expect(capabilities.slice(0, 3)).to.deep.equal(["reminders.cancel", "reminders.create", "messages.send"]);
    expect(capabilities.indexOf("tools.lookup")).to.be.greaterThan(capabilities.indexOf("calc.evaluate"));
    expect(book.digest).to.match(/^sha256:[0-9a-f]{64}$/);
  });

  it("reads the same file to the same book and the same understandings", () => {
    const again = loadPhraseBook(policyPath("nlp-phrases"));
    expect(again.digest).to.equal(projectPhraseBook().digest);
    for (const utterance of ["take a note buy milk", "remind me to call mom at 5pm", "what is 12 * 7"]) {
      expect(toBinary(UnderstandingSchema, understand(utterance, again)!)).to.deep.equal(
        toBinary(UnderstandingSchema, understand(utterance)!),
      );
    }
  });

  it("serves a new capability from a data entry alone", () => {
    const json = projectJson();
    json.rules.push(aRule("garden.water", [["water the", "water my"]], "free_text", { plant: "text" }));
    const book: PhraseBook = parsePhraseBook(json, FILE);
    const understanding = understand("Please water the ferns by the window", book);
    expect(understanding?.intent).to.equal("garden.water");
    expect(understanding?.fields).to.deep.equal({ plant: "ferns by the window" });
    // Nothing the clarify policy lists blocks it, so nothing is missing.
    expect(understanding?.missingFields).to.deep.equal([]);
    // The rules before it still decide first.
    expect(understand("water the plants", book)?.intent).to.equal("garden.water");
    expect(understand("remind me to water the plants", book)?.intent).to.equal("reminders.create");
    expect(understand("water the ferns")).to.equal(undefined);
  });

  it("lets the first matching rule decide, so a rule's place in the file is its precedence", () => {
    const json = projectJson();
    json.rules.unshift(aRule("notes.tell", [["tell me"]], "free_text", { text: "text" }));
    const book = parsePhraseBook(json, FILE);
    expect(understand("tell me about Paris", book)?.intent).to.equal("notes.tell");
    expect(understand("tell me about Paris")?.intent).to.equal("tools.lookup");
  });

  it("matches only when nothing follows a phrase of the nothing extractor", () => {
    expect(understand("how many notes do I have")?.intent).to.equal("notes.count");
    expect(understand("count my notes please")?.intent).to.equal("notes.count");
    expect(understand("count my notes from yesterday")).to.equal(undefined);
  });

  describe("refuses a file that cannot be used, naming the place", () => {
    const cases: [string, (json: ReturnType<typeof projectJson>) => unknown, string, RegExp][] = [
      ["another version", (j) => ({ ...j, version: 2 }), ".version", /must be 1, got 2/],
      ["an unknown key", (j) => ({ ...j, comment: "x" }), ".comment", /not a known key/],
      ["no rules", (j) => ({ ...j, rules: [] }), ".rules", /non-empty list/],
      [
        "an extractor kind the code lacks",
        (j) => ({ ...j, rules: [aRule("notes.add", [["note"]], "sentiment", { text: "text" })] }),
        ".rules[0].patterns[0].extract",
        /must be one of conversion, .*, got "sentiment"/,
      ],
      [
        "a phrase in capitals",
        (j) => ({ ...j, rules: [aRule("notes.add", [["Take a note"]], "free_text", { text: "text" })] }),
        ".rules[0].patterns[0].phrases[0][0]",
        /lower-case words/,
      ],
      [
        "a phrase with punctuation at an edge",
        (j) => ({ ...j, rules: [aRule("notes.add", [["take a note:"]], "free_text", { text: "text" })] }),
        ".rules[0].patterns[0].phrases[0][0]",
        /without edge punctuation/,
      ],
      [
        "a phrase with two spaces",
        (j) => ({ ...j, rules: [aRule("notes.add", [["take  a note"]], "free_text", { text: "text" })] }),
        ".rules[0].patterns[0].phrases[0][0]",
        /one space apart/,
      ],
      [
        "an empty group of phrases",
        (j) => ({ ...j, rules: [aRule("notes.add", [[]], "free_text", { text: "text" })] }),
        ".rules[0].patterns[0].phrases[0]",
        /non-empty list/,
      ],
      [
        "an output the extractor does not have",
        (j) => ({ ...j, rules: [aRule("notes.add", [["note"]], "free_text", { text: "body" })] }),
        ".rules[0].patterns[0].slots.text",
        /"body" is not an output of free_text \(text\)/,
      ],
      [
        "an output left unmapped",
        (j) => ({ ...j, rules: [aRule("notes.add", [["note"]], "text_and_time", { text: "text" })] }),
        ".rules[0].patterns[0].slots",
        /the field that text_and_time's "time" fills/,
      ],
      [
        "one output filling two fields",
        (j) => ({ ...j, rules: [aRule("notes.add", [["note"]], "free_text", { a: "text", b: "text" })] }),
        ".rules[0].patterns[0].slots.b",
        /fills two fields/,
      ],
      [
        "a field name the contract rejects",
        (j) => ({ ...j, rules: [aRule("notes.add", [["note"]], "free_text", { Text: "text" })] }),
        ".rules[0].patterns[0].slots.Text",
        /field name/,
      ],
      [
        "a capability twice",
        (j) => ({
          ...j,
          rules: [
            aRule("notes.add", [["note"]], "free_text", { text: "text" }),
            j.rules[0]!,
            aRule("notes.add", [["jot"]], "free_text", { text: "text" }),
          ],
        }),
        ".rules[2].capability",
        /"notes.add" is already at .rules\[0\].capability/,
      ],
      [
        "a capability name without an area",
        (j) => ({ ...j, rules: [aRule("note", [["note"]], "free_text", { text: "text" })] }),
        ".rules[0].capability",
        /not a capability name/,
      ],
    ];
    for (const [what, change, path, message] of cases) {
      it(`refuses ${what} at ${path}`, () => {
        const error = refusal(change(projectJson()));
        expect(error.file).to.equal(FILE);
        expect(error.path).to.equal(path);
        expect(error.message).to.match(message);
      });
    }

    it("refuses a capability whose blocking field in the clarify policy no pattern fills", () => {
      const json = projectJson();
      const rule = json.rules.find((r) => r.capability === "reminders.create")!;
      rule.patterns = [{ phrases: [["remind me"]], extract: "free_text", slots: { text: "text" } }];
      const book = parsePhraseBook(json, FILE);
      expect(() => checkAgainstClarify(book, projectClarifyPolicy(), FILE))
        .to.throw(PolicyError)
        .with.property("message")
        .that.matches(/at \.rules\[1\]: no pattern fills when, a blocking field of reminders\.create/);
    });
  });

  it("has no extractor kind that the project's file leaves unused", () => {
    const used = new Set(projectPhraseBook().rules.flatMap((rule) => rule.patterns.map((p) => p.kind)));
    expect([...SLOT_EXTRACTORS.keys()].filter((kind) => !used.has(kind))).to.deep.equal([]);
  });
});
