import { expect } from "chai";
import type { CaseResult } from "../../../conformance/conformance-case.js";
import { summarize, toJsonReport } from "../../../conformance/json-report.js";
import { toJunitXml, xmlEscape } from "../../../conformance/junit-report.js";
import type { ConformanceRun } from "../../../conformance/run-conformance.js";

/** A run of `results` against a fixed engine, at a fixed time. */
function aRun(results: CaseResult[]): ConformanceRun {
  return {
    target: {
      address: "127.0.0.1:50064",
      engine: "calc",
      spiffeId: "spiffe://selene.local/ns/selene/sa/calc",
      pkiDir: "/pki",
    },
    startedAt: "2026-01-01T12:00:00.000Z",
    durationMs: 1234,
    results,
  };
}

const PASSED: CaseResult = { group: "describe", name: "Describe answers", status: "passed", durationMs: 5 };
const FAILED: CaseResult = {
  group: "boundary",
  name: 'Invoke refuses "x" & <y>',
  status: "failed",
  durationMs: 7,
  message: "expected INVALID_ARGUMENT; got OK <accepted> & \u0001done",
};
const SKIPPED: CaseResult = {
  group: "commit",
  name: "Commit reminders.cancel twice",
  status: "skipped",
  durationMs: 0,
  message: "no sample input for reminders.cancel",
};

describe("conformance reports", () => {
  describe("summarize", () => {
    it("counts the cases by outcome", () => {
      expect(summarize([PASSED, FAILED, SKIPPED, PASSED])).to.deep.equal({
        total: 4,
        passed: 2,
        failed: 1,
        skipped: 1,
      });
    });
  });

  describe("the JSON report", () => {
    it("names the engine, counts the outcomes and lists each case in run order with its message", () => {
      const report = JSON.parse(toJsonReport(aRun([PASSED, FAILED, SKIPPED])));
      expect(report).to.include({ engine: "calc", address: "127.0.0.1:50064", durationMs: 1234 });
      expect(report.summary).to.deep.equal({ total: 3, passed: 1, failed: 1, skipped: 1 });
      expect(report.cases.map((c: CaseResult) => [c.status, c.name])).to.deep.equal([
        ["passed", PASSED.name],
        ["failed", FAILED.name],
        ["skipped", SKIPPED.name],
      ]);
      expect(report.cases[0]).to.not.have.property("message");
      expect(report.cases[1].message).to.equal(FAILED.message);
    });

    it("gives the same text for the same run", () => {
      expect(toJsonReport(aRun([PASSED, FAILED]))).to.equal(toJsonReport(aRun([PASSED, FAILED])));
    });
  });

  describe("the JUnit XML report", () => {
    const xml = toJunitXml(aRun([PASSED, FAILED, SKIPPED]));

    it("has one testsuite for the engine with the counts and the time in seconds", () => {
      expect(xml.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ')).to.equal(true);
      expect(xml).to.include(
        '<testsuite name="conformance: calc" tests="3" failures="1" errors="0" skipped="1" time="1.234" timestamp="2026-01-01T12:00:00.000Z">',
      );
    });

    it("has one testcase per case, its group as the class name, a failure or skipped element with the message", () => {
      expect(xml.match(/<testcase /g)?.length).to.equal(3);
      expect(xml).to.include('<testcase classname="conformance.calc.describe" name="Describe answers" time="0.005"/>');
      expect(xml).to.include('<failure message="expected INVALID_ARGUMENT; got OK &lt;accepted&gt; &amp; \ufffddone">');
      expect(xml).to.include('<skipped message="no sample input for reminders.cancel"/>');
    });

    it("escapes names so that the document stays well-formed", () => {
      expect(xml).to.include('name="Invoke refuses &quot;x&quot; &amp; &lt;y&gt;"');
      const elements = xml.match(/<\/?[a-z?]+/g) ?? [];
      const opened = elements.filter((e) => e === "<testcase").length;
      const closed = (xml.match(/<\/testcase>|<testcase [^>]*\/>/g) ?? []).length;
      expect(opened).to.equal(closed);
    });
  });

  describe("xmlEscape", () => {
    it("escapes the five XML characters and replaces characters XML 1.0 forbids", () => {
      expect(xmlEscape(`a&b<c>d"e'f\u0000g\u001fh`)).to.equal("a&amp;b&lt;c&gt;d&quot;e&apos;f\ufffdg\ufffdh");
    });

    it("keeps tabs, newlines and non-ASCII text", () => {
      expect(xmlEscape("a\tb\nc é ✓")).to.equal("a\tb\nc é ✓");
    });
  });
});
