/**
 * Decodes a request that arrived as JSON (Connect's JSON codec), strictly:
 * the body must be UTF-8 and one JSON object (json-syntax.ts); every member
 * must name a field of the message, by its JSON or its proto name, at any
 * depth; every value must have its field's JSON type. Unknown members are not
 * an error here: they are returned with their field paths, so the boundary
 * validator reports them in its own order (after the contract version, as for
 * unknown field numbers in binary). Everything else throws MALFORMED_MESSAGE
 * with the field path and a stable rule id. The same bytes always give the
 * same verdict.
 */
import { type DescField, type DescMessage, fromJson, type JsonValue, type MessageShape } from "@bufbuild/protobuf";
import { type Path, pathToString } from "@bufbuild/protobuf/reflect";
import { ReasonCode } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { SeleneError, type Violation } from "../selene-error.js";
import { checkJsonText } from "./json-syntax.js";

/** A decoded JSON request and the members it had that the contract does not declare. */
export interface JsonRequest<Desc extends DescMessage> {
  readonly message: MessageShape<Desc>;
  readonly unknown: readonly Violation[];
}

type JsonObject = { [key: string]: JsonValue };

const utf8 = new TextDecoder("utf-8", { fatal: true });
const fieldsByKey = new WeakMap<DescMessage, ReadonlyMap<string, DescField>>();
/** Longest message text taken over from the JSON decoder. */
const MAX_DETAIL_CHARS = 200;

/** Decodes `body` as the JSON form of `schema`; an empty body is the empty message, as in binary. */
export function decodeJsonRequest<Desc extends DescMessage>(schema: Desc, body: Uint8Array): JsonRequest<Desc> {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw malformed(schema, "", "utf8", "the body is not valid UTF-8");
  }
  if (text.length === 0) return { message: fromJson(schema, {}), unknown: [] };
  const fault = checkJsonText(text);
  if (fault !== undefined) {
    throw malformed(schema, keysToFieldPath(schema, fault.keys), fault.ruleId, fault.message, {
      offset: String(fault.offset),
    });
  }
  const json = JSON.parse(text) as JsonValue;
  if (!isObject(json)) throw malformed(schema, "", "json_type", "the body must be a JSON object");
  const unknown: Violation[] = [];
  const known = strip(schema, json, [], unknown);
  try {
    return { message: fromJson(schema, known), unknown };
  } catch (e) {
    const detail = e instanceof Error ? e.message : String(e);
    const path = pathToString(locate(schema, known, []));
    throw malformed(schema, path, "json_type", detail.slice(0, MAX_DETAIL_CHARS));
  }
}

function malformed(
  schema: DescMessage,
  fieldPath: string,
  ruleId: string,
  message: string,
  metadata?: Record<string, string>,
): SeleneError {
  const where = fieldPath === "" ? "" : `${fieldPath}: `;
  return new SeleneError(ReasonCode.MALFORMED_MESSAGE, `malformed JSON ${schema.typeName}: ${where}${message}`, {
    violations: [{ fieldPath, ruleId, message }],
    ...(metadata === undefined ? {} : { metadata }),
  });
}

function isObject(value: JsonValue | undefined): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The fields of `desc` by every key protobuf JSON accepts for them: the JSON name and the proto name. */
function fieldByKey(desc: DescMessage): ReadonlyMap<string, DescField> {
  let map = fieldsByKey.get(desc);
  if (map === undefined) {
    const entries = new Map<string, DescField>();
    for (const field of desc.fields) {
      entries.set(field.name, field);
      entries.set(field.jsonName, field);
    }
    map = entries;
    fieldsByKey.set(desc, map);
  }
  return map;
}

/** Well-known types have their own JSON forms (a Timestamp is a string): the decoder checks them whole. */
function hasOwnJsonForm(desc: DescMessage): boolean {
  return desc.typeName.startsWith("google.protobuf.");
}

/** The message type of a field whose value is an object of fields (or a list or map of them), if any. */
function nestedMessage(field: DescField): DescMessage | undefined {
  const desc =
    field.fieldKind === "message"
      ? field.message
      : (field.fieldKind === "list" && field.listKind === "message") ||
          (field.fieldKind === "map" && field.mapKind === "message")
        ? field.message
        : undefined;
  return desc === undefined || hasOwnJsonForm(desc) ? undefined : desc;
}

/** A member name as a path segment: `.name` when it reads as one, else `["…"]`. */
function keySegment(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

function unknownPath(path: Path, key: string): string {
  const prefix = pathToString(path);
  const segment = keySegment(key);
  return prefix === "" && segment.startsWith(".") ? segment.slice(1) : `${prefix}${segment}`;
}

/** Copies `json` without its unknown members (collected into `out`), at any depth. */
function strip(desc: DescMessage, json: JsonObject, path: Path, out: Violation[]): JsonObject {
  const fields = fieldByKey(desc);
  const result: JsonObject = {};
  for (const [key, value] of Object.entries(json)) {
    const field = fields.get(key);
    if (field === undefined) {
      out.push({ fieldPath: unknownPath(path, key), ruleId: "unknown_field", message: `unknown field "${key}"` });
      continue;
    }
    const nested = nestedMessage(field);
    const fieldPath: Path = [...path, field];
    if (nested === undefined || value === null) result[key] = value;
    else if (field.fieldKind === "list" && Array.isArray(value)) {
      result[key] = value.map((item, index) =>
        isObject(item) ? strip(nested, item, [...fieldPath, { kind: "list_sub", index }], out) : item,
      );
    } else if (field.fieldKind === "map" && isObject(value)) {
      const entries: JsonObject = {};
      for (const [mapKey, item] of Object.entries(value)) {
        entries[mapKey] = isObject(item)
          ? strip(nested, item, [...fieldPath, { kind: "map_sub", key: mapKey }], out)
          : item;
      }
      result[key] = entries;
    } else if (field.fieldKind === "message" && isObject(value)) {
      result[key] = strip(nested, value, fieldPath, out);
    } else result[key] = value;
  }
  return result;
}

function decodes(desc: DescMessage, json: JsonValue): boolean {
  try {
    fromJson(desc, json);
    return true;
  } catch {
    return false;
  }
}

/** The deepest path at which `json` (known members only) does not decode as `desc`. */
function locate(desc: DescMessage, json: JsonObject, path: Path): Path {
  const fields = fieldByKey(desc);
  for (const [key, value] of Object.entries(json)) {
    const field = fields.get(key)!;
    const fieldPath: Path = [...path, field];
    const nested = nestedMessage(field);
    if (nested !== undefined && field.fieldKind === "message" && isObject(value) && !decodes(nested, value)) {
      return locate(nested, value, fieldPath);
    }
    if (field.fieldKind === "list" && Array.isArray(value)) {
      for (const [index, item] of value.entries()) {
        const itemPath: Path = [...fieldPath, { kind: "list_sub", index }];
        if (nested !== undefined && isObject(item) && !decodes(nested, item)) return locate(nested, item, itemPath);
        if (!decodes(desc, { [key]: [item] })) return itemPath;
      }
    }
    if (field.fieldKind === "map" && isObject(value)) {
      for (const [mapKey, item] of Object.entries(value)) {
        const itemPath: Path = [...fieldPath, { kind: "map_sub", key: mapKey }];
        if (nested !== undefined && isObject(item) && !decodes(nested, item)) return locate(nested, item, itemPath);
        if (!decodes(desc, { [key]: { [mapKey]: item } })) return itemPath;
      }
    }
    if (!decodes(desc, { [key]: value })) return fieldPath;
  }
  return path; // each member decodes alone, not together (two members of one oneof)
}

/** Maps member names from the top of a document to a field path, as far as they name fields. */
export function keysToFieldPath(schema: DescMessage, keys: readonly (string | number)[]): string {
  const path: Path = [];
  let desc: DescMessage | undefined = schema;
  let field: DescField | undefined;
  let i = 0;
  for (; i < keys.length; i++) {
    const key = keys[i]!;
    if (field !== undefined && (field.fieldKind === "list" || field.fieldKind === "map")) {
      if (field.fieldKind === "list" && typeof key === "number") path.push({ kind: "list_sub", index: key });
      else if (field.fieldKind === "map" && typeof key === "string") path.push({ kind: "map_sub", key });
      else break;
      desc = nestedMessage(field);
      field = undefined;
      continue;
    }
    if (desc === undefined || typeof key !== "string") break;
    field = fieldByKey(desc).get(key);
    if (field === undefined) break;
    path.push(field);
    desc = field.fieldKind === "message" ? nestedMessage(field) : undefined;
  }
  let text = pathToString(path);
  for (const rest of keys.slice(i)) {
    text += typeof rest === "number" ? `[${rest}]` : keySegment(rest);
  }
  return text.startsWith(".") ? text.slice(1) : text;
}
