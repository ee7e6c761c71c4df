/**
 * The JUnit XML report of a conformance run, the format CI systems (GitLab,
 * Jenkins, GitHub annotations) read: one testsuite per engine, one testcase per
 * case with its group as the class name, a failure or skipped element with the
 * case's message.
 */
import { summarize } from "./json-report.js";
import type { ConformanceRun } from "./run-conformance.js";

// Characters XML 1.0 does not allow at all, even escaped.
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters being removed
const NOT_XML = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/g;

/** Escapes text for an XML attribute or element. */
export function xmlEscape(text: string): string {
  return text
    .replace(NOT_XML, "\ufffd")
    .replace(/&/g, "&amp;")
    .replace(/</g, "&lt;")
    .replace(/>/g, "&gt;")
    .replace(/"/g, "&quot;")
    .replace(/'/g, "&apos;");
}

const seconds = (ms: number) => (ms / 1000).toFixed(3);

/** The report as a JUnit XML document. */
export function toJunitXml(run: ConformanceRun): string {
  const { total, failed, skipped } = summarize(run.results);
  const engine = xmlEscape(run.target.engine);
  const counts = `tests="${total}" failures="${failed}" errors="0" skipped="${skipped}" time="${seconds(run.durationMs)}"`;
  const lines = [
    '<?xml version="1.0" encoding="UTF-8"?>',
    `<testsuites name="selene engine conformance" ${counts}>`,
    `  <testsuite name="conformance: ${engine}" ${counts} timestamp="${xmlEscape(run.startedAt)}">`,
    `    <properties><property name="address" value="${xmlEscape(run.target.address)}"/><property name="spiffe_id" value="${xmlEscape(run.target.spiffeId)}"/></properties>`,
  ];
  for (const r of run.results) {
    const open = `    <testcase classname="conformance.${engine}.${xmlEscape(r.group)}" name="${xmlEscape(r.name)}" time="${seconds(r.durationMs)}"`;
    const message = xmlEscape(r.message ?? "");
    if (r.status === "passed") lines.push(`${open}/>`);
    else if (r.status === "skipped") lines.push(`${open}>`, `      <skipped message="${message}"/>`, "    </testcase>");
    else lines.push(`${open}>`, `      <failure message="${message}">${message}</failure>`, "    </testcase>");
  }
  lines.push("  </testsuite>", "</testsuites>", "");
  return lines.join("\n");
}
