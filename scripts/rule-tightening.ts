/**
 * The semantic contract gate, where buf breaking stops: buf compares names,
 * numbers and types, not protovalidate rules, yet a tightened rule (a shorter
 * max_len, a new required field, a narrower pattern, a new not_in) refuses what
 * an old client sends as surely as a removed field. This compares the rules of
 * every field, oneof and message between a release image and today's:
 *   - in a message a request can carry, a tightened rule is breaking (old
 *     clients send what today refuses), and so is a new field whose rules
 *     refuse a message that leaves it out (old clients never set it);
 *   - in a message a response can carry, a loosened rule is breaking (old
 *     clients validate answers with the release's rules).
 * Rules are compared as their canonical JSON (proto names), generically: bounds
 * by name (min_*, gt/gte up; max_*, lt/lte down), `in` narrowed, `not_in`
 * grown, a flag turned on, a CEL rule added or changed, `ignore` weakened, and
 * any other rule (pattern, len, const, prefix, a format) set or changed.
 */
import {
  create,
  type DescField,
  type DescFile,
  type DescMessage,
  type FileRegistry,
  getOption,
  type Registry,
  toJson,
} from "@bufbuild/protobuf";
import { createValidator } from "@bufbuild/protovalidate";
import {
  FieldRulesSchema,
  field as fieldExtension,
  MessageRulesSchema,
  message as messageExtension,
  OneofRulesSchema,
  oneof as oneofExtension,
} from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";
import { contractRegexMatch } from "../services/runtime/contract-regex.js";
import { imageRegistry } from "../services/runtime/release-surface.js";

/** One rule whose change would break a client of the release. */
export interface RuleChange {
  /** The field, oneof or message: `selene.audit.v1.AuditEvent.payload`. */
  readonly subject: string;
  /** The rule within its rules message: `bytes.max_len`, `required`, `cel[id=...]`. */
  readonly rule: string;
  /** `tightened` (breaks request senders), `loosened` (breaks response readers), or `new field`. */
  readonly change: "tightened" | "loosened" | "new field";
  /** What the rule was and is: `65536 -> 57344`. */
  readonly detail: string;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

/** Our contracts within an image: the files of the selene packages. */
const OURS = /^selene\./;

function ourFiles(registry: FileRegistry): DescFile[] {
  return [...registry.files].filter((f) => OURS.test(f.proto.package));
}

function ourMessages(files: DescFile[]): DescMessage[] {
  const out: DescMessage[] = [];
  const walk = (m: DescMessage) => {
    out.push(m);
    m.nestedMessages.forEach(walk);
  };
  for (const f of files) f.messages.forEach(walk);
  return out;
}

/** The type names reachable from the inputs (`request`) and outputs (`response`) of every method. */
function reachable(files: DescFile[]): { request: Set<string>; response: Set<string> } {
  const visit = (m: DescMessage, seen: Set<string>) => {
    if (seen.has(m.typeName)) return;
    seen.add(m.typeName);
    for (const f of m.fields) {
      if (f.message !== undefined) visit(f.message, seen);
    }
  };
  const request = new Set<string>();
  const response = new Set<string>();
  for (const file of files) {
    for (const service of file.services) {
      for (const method of service.methods) {
        visit(method.input, request);
        visit(method.output, response);
      }
    }
  }
  return { request, response };
}

const IGNORE_RANK: Record<string, number> = { IGNORE_UNSPECIFIED: 0, IGNORE_IF_ZERO_VALUE: 1, IGNORE_ALWAYS: 2 };

function show(v: Json | undefined): string {
  return v === undefined ? "(none)" : JSON.stringify(v);
}

function asNumber(v: Json | undefined): number | bigint | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "string" && /^-?\d+$/.test(v)) return BigInt(v);
  if (typeof v === "string" && /^-?(\d+\.?\d*(e[+-]?\d+)?|Infinity)$/i.test(v)) return Number(v);
  return undefined;
}

/** -1, 0, 1; undefined when the two cannot be ordered (durations, timestamps: any change counts). */
function order(a: Json | undefined, b: Json | undefined): number | undefined {
  const x = asNumber(a);
  const y = asNumber(b);
  if (x === undefined || y === undefined) return undefined;
  return x < y ? -1 : x > y ? 1 : 0;
}

interface Bound {
  readonly value: Json;
  readonly exclusive: boolean;
}

function bound(rules: JsonObject, exclusive: string, inclusive: string): Bound | undefined {
  if (rules[exclusive] !== undefined) return { value: rules[exclusive], exclusive: true };
  if (rules[inclusive] !== undefined) return { value: rules[inclusive], exclusive: false };
  return undefined;
}

/** Whether bound `b` admits less than `a`; `sign` 1 for a lower bound, -1 for an upper one. */
function narrower(a: Bound | undefined, b: Bound | undefined, sign: 1 | -1): boolean {
  if (b === undefined) return false;
  if (a === undefined) return true;
  const o = order(b.value, a.value);
  if (o === undefined) return JSON.stringify(a) !== JSON.stringify(b);
  return o * sign > 0 || (o === 0 && b.exclusive && !a.exclusive);
}

const PAIRED = new Set(["gt", "gte", "lt", "lte"]);

/**
 * The rules of `after` that admit less than `before` does, as `[rule path, before, after]`.
 * Both are rules messages as canonical JSON.
 */
export function tightenings(before: JsonObject, after: JsonObject, path = ""): Array<[string, string, string]> {
  const out: Array<[string, string, string]> = [];
  const at = (key: string) => (path === "" ? key : `${path}.${key}`);
  const lowerBefore = bound(before, "gt", "gte");
  const lowerAfter = bound(after, "gt", "gte");
  if (narrower(lowerBefore, lowerAfter, 1)) {
    out.push([at(after.gt !== undefined ? "gt" : "gte"), show(lowerBefore?.value), show(lowerAfter?.value)]);
  }
  const upperBefore = bound(before, "lt", "lte");
  const upperAfter = bound(after, "lt", "lte");
  if (narrower(upperBefore, upperAfter, -1)) {
    out.push([at(after.lt !== undefined ? "lt" : "lte"), show(upperBefore?.value), show(upperAfter?.value)]);
  }
  const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
  for (const key of keys) {
    const was = before[key];
    const is = after[key];
    const change = [show(was), show(is)] as const;
    if (PAIRED.has(key) || key === "example") continue;
    if (key === "ignore") {
      const rank = (v: Json | undefined) => IGNORE_RANK[typeof v === "string" ? v : "IGNORE_UNSPECIFIED"] ?? 0;
      if (rank(is) < rank(was)) out.push([at(key), ...change]);
      continue;
    }
    if (is === undefined || is === null) continue; // a rule removed admits more
    if (key === "cel" && Array.isArray(is)) {
      const old = new Map((Array.isArray(was) ? was : []).map((r) => [(r as JsonObject).id, JSON.stringify(r)]));
      for (const rule of is as JsonObject[]) {
        if (old.get(rule.id) !== JSON.stringify(rule))
          out.push([at(`cel[id=${String(rule.id)}]`), show(old.get(rule.id)), show(rule.expression)]);
      }
      continue;
    }
    if (key === "in" && Array.isArray(is)) {
      const allowed = new Set((is as Json[]).map((v) => JSON.stringify(v)));
      const lost = Array.isArray(was) ? (was as Json[]).filter((v) => !allowed.has(JSON.stringify(v))) : [];
      if (!Array.isArray(was) || lost.length > 0) out.push([at(key), ...change]);
      continue;
    }
    if (key === "not_in" && Array.isArray(is)) {
      const refused = new Set((Array.isArray(was) ? was : []).map((v) => JSON.stringify(v)));
      if ((is as Json[]).some((v) => !refused.has(JSON.stringify(v)))) out.push([at(key), ...change]);
      continue;
    }
    if (key.startsWith("min_") || key.startsWith("max_")) {
      const o = order(is, was);
      const raised = key.startsWith("min_") ? 1 : -1;
      if (was === undefined || (o === undefined ? show(was) !== show(is) : o * raised > 0))
        out.push([at(key), ...change]);
      continue;
    }
    if (typeof is === "object" && !Array.isArray(is)) {
      const inner = typeof was === "object" && was !== null && !Array.isArray(was) ? was : {};
      out.push(...tightenings(inner, is, at(key)));
      continue;
    }
    if (typeof is === "boolean") {
      if (is && was !== true) out.push([at(key), ...change]);
      continue;
    }
    if (show(was) !== show(is)) out.push([at(key), ...change]); // pattern, len, const, prefix, a format
  }
  return out;
}

function rulesJson(element: DescField | DescMessage | DescMessage["oneofs"][number], registry: Registry): JsonObject {
  const opts = { useProtoFieldName: true, registry } as const;
  switch (element.kind) {
    case "field":
      return toJson(FieldRulesSchema, getOption(element, fieldExtension), opts) as JsonObject;
    case "message":
      return toJson(MessageRulesSchema, getOption(element, messageExtension), opts) as JsonObject;
    default:
      return toJson(OneofRulesSchema, getOption(element, oneofExtension), opts) as JsonObject;
  }
}

/** Rules of a new field that refuse a message leaving it out, as `[rule, message]`. */
function refusedWithout(message: DescMessage, field: DescField): Array<[string, string]> {
  const validator = createValidator({ regexMatch: contractRegexMatch });
  const result = validator.validate(message, create(message));
  if (result.kind !== "invalid") return [];
  return result.violations
    .filter((v) => v.field[0]?.kind === "field" && v.field[0].number === field.number)
    .map((v) => [v.ruleId, v.message]);
}

/**
 * Every rule change between the `release` image and today's `current` image that breaks a client of
 * the release, sorted by subject then rule.
 */
export function ruleChanges(release: Uint8Array, current: Uint8Array): RuleChange[] {
  const before = imageRegistry(release);
  const after = imageRegistry(current);
  const files = ourFiles(after);
  const { request, response } = reachable(files);
  const changes: RuleChange[] = [];
  const compare = (subject: string, was: JsonObject, is: JsonObject, typeName: string) => {
    if (request.has(typeName)) {
      for (const [rule, from, to] of tightenings(was, is)) {
        changes.push({ subject, rule, change: "tightened", detail: `${from} -> ${to}` });
      }
    }
    if (response.has(typeName)) {
      // Swapped: what today admits beyond the release's rules, which an old reader refuses.
      for (const [rule, to, from] of tightenings(is, was)) {
        changes.push({ subject, rule, change: "loosened", detail: `${from} -> ${to}` });
      }
    }
  };
  for (const message of ourMessages(files)) {
    const old = before.getMessage(message.typeName);
    if (old === undefined) continue; // a new message: no release client sends or reads it
    compare(message.typeName, rulesJson(old, before), rulesJson(message, after), message.typeName);
    for (const oneof of message.oneofs) {
      const was = old.oneofs.find((o) => o.name === oneof.name);
      if (was !== undefined) {
        compare(`${message.typeName}.${oneof.name}`, rulesJson(was, before), rulesJson(oneof, after), message.typeName);
      }
    }
    for (const field of message.fields) {
      const subject = `${message.typeName}.${field.name}`;
      const was = old.fields.find((f) => f.number === field.number);
      if (was !== undefined) {
        compare(subject, rulesJson(was, before), rulesJson(field, after), message.typeName);
      } else if (request.has(message.typeName)) {
        for (const [rule, detail] of refusedWithout(message, field)) {
          changes.push({ subject, rule, change: "new field", detail: `refuses a message without it: ${detail}` });
        }
      }
    }
  }
  return changes.sort((a, b) => a.subject.localeCompare(b.subject) || a.rule.localeCompare(b.rule));
}

/** One line per change: `selene.x.v1.M.f: bytes.max_len tightened (65536 -> 57344)`. */
export function describeChange(c: RuleChange): string {
  return `${c.subject}: ${c.rule} ${c.change} (${c.detail})`;
}
