import { toBinary } from "@bufbuild/protobuf";
import { durationMs, timestampMs } from "@bufbuild/protobuf/wkt";
import { createValidator } from "@bufbuild/protovalidate";
import { expect } from "chai";
import { type ReadResult, ReadResultSchema } from "../../../gen/es/selene/engine/v1/engine_pb.js";
import { ConflictRule, FreshnessState } from "../../../gen/es/selene/kernel/v1/provenance_pb.js";
import { understand } from "../../../services/engines/nlp/understand.js";
import { claimsOf } from "../../../services/engines/tools/knowledge-base.js";
import { KB_FACTS, KB_SOURCES, maxAgeMs } from "../../../services/engines/tools/knowledge-facts.js";
import {
  isToolsCapability,
  read,
  TOOLS_ARGUMENTS,
  TOOLS_CAPABILITIES,
  type ToolsCapability,
} from "../../../services/engines/tools/read.js";
import { rankClaims, resolveClaims } from "../../../services/engines/tools/resolve-claims.js";
import { ToolError } from "../../../services/engines/tools/tool-error.js";
import { canonicalJson, sha256Digest } from "../../../services/runtime/content-digest.js";
import { readContentDigest } from "../../../services/runtime/turn-decisions/provenance-check.js";

const validator = createValidator();
const NOW = new Date(Date.UTC(2025, 2, 3, 14, 5, 7, 250));
const DAY_MS = 86_400_000;

function expectValid(result: ReadResult): void {
  const verdict = validator.validate(ReadResultSchema, result);
  expect(verdict.kind, verdict.kind === "invalid" ? verdict.error.message : "").to.equal("valid");
}

function readOk(capability: ToolsCapability, args: Record<string, string>, now = NOW): ReadResult {
  const result = read(capability, args, now);
  if (result === undefined) expect.fail(`${capability} ${JSON.stringify(args)} gave no result`);
  expectValid(result);
  return result;
}

function refusal(run: () => unknown): { code: string; argument: string } | undefined {
  try {
    run();
  } catch (error) {
    if (error instanceof ToolError) return { code: error.code, argument: error.argument };
    throw error;
  }
  return undefined;
}

describe("tools read", () => {
  describe("knowledge base lookup", () => {
    for (const [query, fact, value] of [
      ["what is the capital of france", "france.capital", "Paris"],
      ["What's the capital of Japan?", "japan.capital", "Tokyo"],
      ["capital of Brazil", "brazil.capital", "Brasília"],
      ["who wrote hamlet", "hamlet.author", "William Shakespeare"],
      ["Who is the author of 1984?", "nineteen_eighty_four.author", "George Orwell"],
      ["how tall is mount everest", "mount_everest.height_m", "8849"],
      ["what is the elevation of Denali", "denali.height_m", "6190"],
      ["how long is the Nile", "nile.length_km", "6650"],
      ["who painted the Mona Lisa", "mona_lisa.painter", "Leonardo da Vinci"],
      ["the speed of light", "light.speed_m_s", "299792458"],
    ] as const) {
      it(`answers "${query}" with ${fact} = ${value}`, () => {
        const result = readOk("tools.lookup", { query });
        expect(result.data).to.deep.equal({ fact, value, source: result.data.source });
        expect(result.text).to.contain(value);
        expect(result.provenance?.sources.map((s) => s.id)).to.include(result.data.source);
      });
    }

    for (const query of ["what is love", "capital of atlantis", "who wrote", "?"]) {
      it(`returns undefined when the knowledge base does not know "${query}"`, () => {
        expect(read("tools.lookup", { query }, NOW)).to.equal(undefined);
      });
    }

    it("answers every tools.lookup question the NLP engine produces for known facts", () => {
      for (const utterance of ["What is the capital of France?", "who wrote Hamlet", "How tall is Mount Everest?"]) {
        const understanding = understand(utterance);
        expect(understanding?.intent).to.equal("tools.lookup");
        readOk("tools.lookup", understanding!.fields);
      }
    });

    it("keeps the more trusted value and records a TRUST conflict when trust differs", () => {
      const provenance = readOk("tools.lookup", { query: "height of everest" }).provenance!;
      expect(provenance.conflicts.map((c) => [c.field, c.sourceIds, c.chosenSourceId, c.rule])).to.deep.equal([
        ["mount_everest.height_m", ["kb:almanac", "kb:atlas"], "kb:atlas", ConflictRule.TRUST],
      ]);
    });

    it("keeps the fresher value and records a FRESHNESS conflict when trust is equal", () => {
      const result = readOk("tools.lookup", { query: "how high is mont blanc" });
      expect(result.data.value).to.equal("4806");
      expect(result.provenance?.conflicts.map((c) => [c.sourceIds, c.chosenSourceId, c.rule])).to.deep.equal([
        [["kb:almanac", "kb:gazetteer"], "kb:gazetteer", ConflictRule.FRESHNESS],
      ]);
      expect(timestampMs(result.provenance!.retrievedAt!)).to.equal(KB_SOURCES.get("kb:gazetteer")!.retrievedAtMs);
    });

    it("lets trust beat two agreeing less trusted sources and names all three", () => {
      const result = readOk("tools.lookup", { query: "length of the amazon" });
      expect(result.data.value).to.equal("6400");
      expect(result.provenance?.conflicts[0]?.sourceIds).to.deep.equal(["kb:almanac", "kb:atlas", "kb:gazetteer"]);
      expect(result.provenance?.conflicts[0]?.rule).to.equal(ConflictRule.TRUST);
    });

    it("records no conflict when the sources agree, and lists the sources most trusted first", () => {
      const provenance = readOk("tools.lookup", { query: "capital of canada" }).provenance!;
      expect(provenance.conflicts).to.deep.equal([]);
      expect(provenance.sources.map((s) => [s.id, s.trust])).to.deep.equal([
        ["kb:atlas", 90],
        ["kb:gazetteer", 70],
      ]);
    });

    it("never needs the source-id tie-break for the built-in facts", () => {
      for (const fact of KB_FACTS) {
        const ranked = rankClaims(claimsOf(fact));
        const winner = ranked[0]!;
        const rival = ranked.find((claim) => claim.value !== winner.value);
        if (rival === undefined) continue;
        expect(
          rival.trust !== winner.trust || rival.retrievedAtMs !== winner.retrievedAtMs,
          `${fact.id} is settled by source id`,
        ).to.equal(true);
      }
    });

    it("is FRESH up to max_age after the kept value's snapshot and STALE one millisecond later", () => {
      const fact = KB_FACTS.find((f) => f.id === "mount_everest.height_m")!;
      const snapshot = KB_SOURCES.get("kb:atlas")!.retrievedAtMs;
      const atLimit = readOk("tools.lookup", { query: "how tall is everest" }, new Date(snapshot + maxAgeMs(fact)));
      const past = readOk("tools.lookup", { query: "how tall is everest" }, new Date(snapshot + maxAgeMs(fact) + 1));
      expect(atLimit.provenance?.freshness?.state).to.equal(FreshnessState.FRESH);
      expect(past.provenance?.freshness?.state).to.equal(FreshnessState.STALE);
      expect(durationMs(past.provenance!.freshness!.maxAge!)).to.equal(730 * DAY_MS);
      // Only the verdict ages: the content, and so its digest, do not.
      expect(past.provenance?.contentDigest).to.equal(atLimit.provenance?.contentDigest);
    });

    it("digests the canonical content and each source's claim", () => {
      const result = readOk("tools.lookup", { query: "height of everest" });
      const provenance = result.provenance!;
      expect(provenance.contentDigest).to.equal(sha256Digest(canonicalJson({ text: result.text, data: result.data })));
      expect(provenance.contentDigest).to.equal(readContentDigest(result.text, { ...result.data }));
      expect(provenance.sources.map((s) => s.contentDigest)).to.deep.equal([
        sha256Digest(canonicalJson({ fact: "mount_everest.height_m", value: "8849" })),
        sha256Digest(canonicalJson({ fact: "mount_everest.height_m", value: "8848" })),
      ]);
    });
  });

  describe("conflict rule", () => {
    const claim = (sourceId: string, trust: number, day: number, value: string) => ({
      sourceId,
      trust,
      retrievedAtMs: day * DAY_MS,
      value,
    });

    for (const [why, claims, chosen, rule] of [
      ["trust differs", [claim("s:a", 50, 9, "x"), claim("s:b", 60, 1, "y")], "s:b", ConflictRule.TRUST],
      ["trust is equal", [claim("s:a", 50, 9, "x"), claim("s:b", 50, 1, "y")], "s:a", ConflictRule.FRESHNESS],
      ["trust and date are equal", [claim("s:b", 50, 1, "y"), claim("s:a", 50, 1, "x")], "s:a", ConflictRule.SOURCE_ID],
    ] as const) {
      it(`chooses ${chosen} by ${ConflictRule[rule]} when ${why}, in any input order`, () => {
        for (const order of [claims, [...claims].reverse()]) {
          const resolution = resolveClaims("f", order);
          expect(resolution.chosen.sourceId).to.equal(chosen);
          expect(resolution.conflict).to.deep.equal({
            field: "f",
            sourceIds: ["s:a", "s:b"],
            chosenSourceId: chosen,
            rule,
          });
        }
      });
    }

    it("returns no conflict when every claim agrees", () => {
      expect(resolveClaims("f", [claim("s:a", 1, 1, "x"), claim("s:b", 2, 2, "x")]).conflict).to.equal(undefined);
    });
  });

  describe("clock", () => {
    for (const [timezone, text, iso] of [
      [undefined, "It is 14:05 on Monday 3 March 2025 in UTC (UTC+00:00).", "2025-03-03T14:05:07+00:00"],
      ["Asia/Tokyo", "It is 23:05 on Monday 3 March 2025 in Asia/Tokyo (UTC+09:00).", "2025-03-03T23:05:07+09:00"],
      [
        "America/New_York",
        "It is 09:05 on Monday 3 March 2025 in America/New_York (UTC-05:00).",
        "2025-03-03T09:05:07-05:00",
      ],
      ["Asia/Kolkata", "It is 19:35 on Monday 3 March 2025 in Asia/Kolkata (UTC+05:30).", "2025-03-03T19:35:07+05:30"],
    ] as const) {
      it(`reads the time in ${timezone ?? "the default zone"} when asked`, () => {
        const result = readOk("tools.time", timezone === undefined ? {} : { timezone });
        expect(result.text).to.equal(text);
        expect(result.data.iso).to.equal(iso);
        expect(result.data.utc).to.equal("2025-03-03T14:05:07.250Z");
        expect(result.data.timezone).to.equal(timezone ?? "UTC");
        const provenance = result.provenance!;
        expect(provenance.sources.map((s) => s.id)).to.deep.equal(["clock:system"]);
        expect(timestampMs(provenance.retrievedAt!)).to.equal(NOW.getTime());
        expect(provenance.freshness?.state).to.equal(FreshnessState.LIVE);
      });
    }

    it("follows daylight saving time", () => {
      const summer = new Date(Date.UTC(2025, 6, 1, 12, 0, 0));
      expect(readOk("tools.time", { timezone: "Europe/London" }, summer).data.utc_offset).to.equal("+01:00");
      expect(readOk("tools.time", { timezone: "Europe/London" }).data.utc_offset).to.equal("+00:00");
    });

    it("crosses the date line into the next day", () => {
      const late = new Date(Date.UTC(2025, 11, 31, 20, 30, 0));
      expect(readOk("tools.time", { timezone: "Asia/Tokyo" }, late).data.iso).to.equal("2026-01-01T05:30:00+09:00");
    });

    it("reports a zone as requested in any case, whatever was asked before", () => {
      readOk("tools.time", { timezone: "Europe/Paris" });
      expect(readOk("tools.time", { timezone: "europe/paris" }).data.timezone).to.equal("europe/paris");
      expect(readOk("tools.time", { timezone: "Europe/Paris" }).data.timezone).to.equal("Europe/Paris");
    });

    for (const timezone of ["Mars/Olympus", "x".repeat(200), "Asia/Tokyo\u0000"]) {
      it(`refuses with UNKNOWN_TIMEZONE when the zone is ${JSON.stringify(timezone.slice(0, 20))}`, () => {
        expect(refusal(() => read("tools.time", { timezone }, NOW))).to.deep.equal({
          code: "UNKNOWN_TIMEZONE",
          argument: "timezone",
        });
      });
    }
  });

  describe("unit conversion", () => {
    for (const [value, from, to, result] of [
      ["5", "km", "mi", "3.10686"],
      ["3", "kg", "lb", "6.61387"],
      ["1", "mi", "ft", "5280"],
      ["12", "in", "cm", "30.48"],
      ["1", "lb", "oz", "16"],
      ["1", "oz", "g", "28.3495"],
      ["1", "gal", "l", "3.78541"],
      ["250", "ml", "l", "0.25"],
      ["1234567", "m", "km", "1234.57"],
      ["100", "c", "f", "212"],
      ["-40", "f", "c", "-40"],
      ["0", "c", "k", "273.15"],
      ["300", "k", "c", "26.85"],
      ["98.6", "f", "c", "37"],
      ["0", "k", "f", "-459.67"],
      ["2.5", "KM", "M", "2500"],
      ["7", "kg", "kg", "7"],
    ] as const) {
      it(`converts ${value} ${from} to ${result} ${to}`, () => {
        const converted = readOk("tools.convert", { value, from_unit: from, to_unit: to });
        expect(converted.data).to.deep.equal({
          value,
          from_unit: from.toLowerCase(),
          to_unit: to.toLowerCase(),
          result,
        });
        expect(converted.provenance?.freshness?.state).to.equal(FreshnessState.LIVE);
        expect(converted.provenance?.sources.map((s) => s.id)).to.deep.equal(["units:exact-factors"]);
      });
    }

    it("prints the input as one canonical decimal", () => {
      expect(readOk("tools.convert", { value: "+05.500", from_unit: "km", to_unit: "m" }).data.value).to.equal("5.5");
    });

    for (const [args, code, argument] of [
      [{ value: "5", from_unit: "km", to_unit: "kg" }, "INCOMPATIBLE_UNITS", "to_unit"],
      [{ value: "5", from_unit: "c", to_unit: "l" }, "INCOMPATIBLE_UNITS", "to_unit"],
      [{ value: "5", from_unit: "furlong", to_unit: "m" }, "UNKNOWN_UNIT", "from_unit"],
      [{ value: "5", from_unit: "m", to_unit: "parsec" }, "UNKNOWN_UNIT", "to_unit"],
      [{ value: "five", from_unit: "km", to_unit: "mi" }, "INVALID_VALUE", "value"],
      [{ value: "1e3", from_unit: "km", to_unit: "mi" }, "INVALID_VALUE", "value"],
      [{ value: "Infinity", from_unit: "km", to_unit: "mi" }, "INVALID_VALUE", "value"],
      [{ value: "-500", from_unit: "c", to_unit: "k" }, "INVALID_VALUE", "value"],
      [{ value: "-1", from_unit: "k", to_unit: "c" }, "INVALID_VALUE", "value"],
      [{ value: "-5", from_unit: "km", to_unit: "mi" }, "INVALID_VALUE", "value"],
    ] as const) {
      it(`refuses with ${code} on ${argument} when converting ${args.value} ${args.from_unit} to ${args.to_unit}`, () => {
        expect(refusal(() => read("tools.convert", args, NOW))).to.deep.equal({ code, argument });
      });
    }
  });

  describe("dispatch", () => {
    it("serves exactly the three tools capabilities", () => {
      expect([...TOOLS_CAPABILITIES]).to.deep.equal(["tools.convert", "tools.lookup", "tools.time"]);
      expect(Object.keys(TOOLS_ARGUMENTS).sort()).to.deep.equal([...TOOLS_CAPABILITIES]);
      expect(isToolsCapability("tools.lookup")).to.equal(true);
      expect(isToolsCapability("reminders.create")).to.equal(false);
    });

    for (const [capability, args, code, argument] of [
      ["tools.weather", {}, "UNKNOWN_CAPABILITY", ""],
      ["tools.lookup", {}, "MISSING_ARGUMENT", "query"],
      ["tools.lookup", { query: "" }, "MISSING_ARGUMENT", "query"],
      ["tools.convert", { to_unit: "mi" }, "MISSING_ARGUMENT", "value"],
      ["tools.convert", { value: "1", to_unit: "mi" }, "MISSING_ARGUMENT", "from_unit"],
      ["tools.time", { zone: "UTC", extra: "1" }, "UNKNOWN_ARGUMENT", "extra"],
      ["tools.lookup", { query: "x", timezone: "UTC" }, "UNKNOWN_ARGUMENT", "timezone"],
    ] as const) {
      it(`refuses with ${code} when ${capability} gets ${JSON.stringify(args)}`, () => {
        expect(refusal(() => read(capability as ToolsCapability, args, NOW))).to.deep.equal({ code, argument });
      });
    }

    it("gives identical bytes and sorted data keys for the same read twice", () => {
      for (const [capability, args] of [
        ["tools.lookup", { query: "how tall is mount everest" }],
        ["tools.time", { timezone: "Asia/Tokyo" }],
        ["tools.convert", { value: "5", from_unit: "km", to_unit: "mi" }],
      ] as const) {
        const first = readOk(capability, args);
        expect(toBinary(ReadResultSchema, first)).to.deep.equal(toBinary(ReadResultSchema, readOk(capability, args)));
        expect(Object.keys(first.data)).to.deep.equal(Object.keys(first.data).sort());
      }
    });

    it("produces valid results for every fact, at a fresh and at a stale instant", () => {
      for (const fact of KB_FACTS) {
        for (const now of [NOW, new Date(Date.UTC(2040, 0, 1))]) {
          const result = readOk("tools.lookup", { query: fact.asks[0]! }, now);
          expect(result.data.fact).to.equal(fact.id);
        }
      }
    });
  });
});
