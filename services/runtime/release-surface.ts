/**
 * The surface of a released contract version: the image `npm run baseline`
 * recorded under proto/releases/ (v<major>.<minor>.binpb), read as a registry
 * of that release's messages. A server answers a caller with the response
 * shaped to the surface of the release it declared (shapeForRelease): the
 * fields the release did not have are dropped at every depth, and every enum
 * value it did not have is replaced by its declared stand-in
 * (enum-stand-ins.ts), so the client's decoder and validator never meet a
 * field or a value they do not know.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  createFileRegistry,
  type DescField,
  type DescMessage,
  type FileRegistry,
  fromBinary,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { formatVersion, type Version } from "./contract-version.js";
import { standInTable } from "./enum-stand-ins.js";

// From source this module is services/runtime/; compiled, dist/services/runtime/. The images stay
// in proto/releases/ at the project root (and in the application image, beside dist/).
const HERE = dirname(fileURLToPath(import.meta.url));
const RELEASES_ROOT = [
  join(HERE, "..", "..", "proto", "releases"),
  join(HERE, "..", "..", "..", "proto", "releases"),
].find((dir) => existsSync(dir));

/** By major * 65536 + minor: every call asks, so the key is a number, not a formatted name. */
const surfaces = new Map<number, FileRegistry | undefined>();

/** Reads a buf image (a FileDescriptorSet on the wire, with its imports) into a registry. */
export function imageRegistry(bytes: Uint8Array): FileRegistry {
  return createFileRegistry(fromBinary(FileDescriptorSetSchema, bytes));
}

/** The registry of release `version`'s image; undefined when no image of it is recorded. */
export function releaseSurface(version: Version): FileRegistry | undefined {
  const key = version.major * 65536 + version.minor;
  if (!surfaces.has(key)) {
    const path = RELEASES_ROOT === undefined ? undefined : join(RELEASES_ROOT, `v${formatVersion(version)}.binpb`);
    const registry = path !== undefined && existsSync(path) ? imageRegistry(readFileSync(path)) : undefined;
    surfaces.set(key, registry);
  }
  return surfaces.get(key);
}

/** One field on the way to an enum value a release lacks: its stand-in table, or the walk of its messages. */
interface FieldStep {
  readonly field: DescField;
  /** For an enum (singular, list or map value): today's numbers the release lacks, to their stand-ins. */
  readonly table: ReadonlyMap<number, number> | undefined;
  /** For a message (singular, list or map value): the steps inside it. */
  readonly inner: readonly FieldStep[] | undefined;
}

/** What shaping a message type for one release takes, worked out once per type and release. */
interface ShapePlan {
  /** The release's message type; undefined when the release did not have it. */
  readonly old: DescMessage | undefined;
  /** Whether the release lacks a field this type reaches: the bytes are decoded with the release's type. */
  readonly dropsFields: boolean;
  /** The fields that reach an enum with a value the release lacks; empty when none does. */
  readonly steps: readonly FieldStep[];
}

const plans = new WeakMap<FileRegistry, Map<string, ShapePlan>>();

/** The message type a field holds (singular, list or map value), if any. */
function messageOf(field: DescField): DescMessage | undefined {
  if (field.fieldKind === "message") return field.message;
  if (field.fieldKind === "list" && field.listKind === "message") return field.message;
  if (field.fieldKind === "map" && field.mapKind === "message") return field.message;
  return undefined;
}

/** The stand-in table of an enum field (singular, list or map value); undefined when the release lacks no value. */
function tableOf(field: DescField, surface: FileRegistry): ReadonlyMap<number, number> | undefined {
  const desc =
    field.fieldKind === "enum" ||
    (field.fieldKind === "list" && field.listKind === "enum") ||
    (field.fieldKind === "map" && field.mapKind === "enum")
      ? field.enum
      : undefined;
  const release = desc === undefined ? undefined : surface.getEnum(desc.typeName);
  const table = desc === undefined || release === undefined ? undefined : standInTable(desc, release);
  return table === undefined || table.size === 0 ? undefined : table;
}

/** The fields of `schema` (today's) that the release's type of the same name also declares. */
function keptFields(schema: DescMessage, surface: FileRegistry): DescField[] {
  const old = surface.getMessage(schema.typeName);
  return old === undefined ? [] : schema.fields.filter((f) => old.field[f.localName]?.number === f.number);
}

/** Whether some type reachable from `schema` (itself included) through kept fields satisfies `test`. */
function reaches(schema: DescMessage, surface: FileRegistry, test: (desc: DescMessage) => boolean): boolean {
  const seen = new Set<string>();
  const visit = (desc: DescMessage): boolean => {
    if (seen.has(desc.typeName)) return false;
    seen.add(desc.typeName);
    if (test(desc)) return true;
    return keptFields(desc, surface).some((f) => {
      const inner = messageOf(f);
      return inner !== undefined && visit(inner);
    });
  };
  return visit(schema);
}

function planSteps(schema: DescMessage, surface: FileRegistry): FieldStep[] {
  const hasTable = (desc: DescMessage) => keptFields(desc, surface).some((f) => tableOf(f, surface) !== undefined);
  if (!reaches(schema, surface, hasTable)) return [];
  const built = new Map<string, FieldStep[]>();
  const build = (desc: DescMessage): FieldStep[] => {
    const known = built.get(desc.typeName);
    if (known !== undefined) return known;
    // Made before its fields are, so a recursive type refers to itself.
    const steps: FieldStep[] = [];
    built.set(desc.typeName, steps);
    for (const field of keptFields(desc, surface)) {
      const table = tableOf(field, surface);
      const inner = messageOf(field);
      if (table !== undefined) steps.push({ field, table, inner: undefined });
      else if (inner !== undefined && reaches(inner, surface, hasTable))
        steps.push({ field, table: undefined, inner: build(inner) });
    }
    return steps;
  };
  return build(schema);
}

function planFor(schema: DescMessage, surface: FileRegistry): ShapePlan {
  let byType = plans.get(surface);
  if (byType === undefined) {
    byType = new Map();
    plans.set(surface, byType);
  }
  let plan = byType.get(schema.typeName);
  if (plan === undefined) {
    const old = surface.getMessage(schema.typeName);
    const lacksField = (desc: DescMessage) => keptFields(desc, surface).length < desc.fields.length;
    plan = {
      old,
      dropsFields: old !== undefined && reaches(schema, surface, lacksField),
      steps: old === undefined ? [] : planSteps(schema, surface),
    };
    byType.set(schema.typeName, plan);
  }
  return plan;
}

type Fields = Record<string, unknown>;

/**
 * Whether `message` holds, on `steps`, an enum value that a table maps; with `replace`, replaces
 * each by its stand-in. A oneof member is read from its oneof's `{ case, value }`.
 */
function standIns(steps: readonly FieldStep[], message: Fields, replace: boolean): boolean {
  let found = false;
  for (const { field, table, inner } of steps) {
    const oneof = field.oneof === undefined ? undefined : (message[field.oneof.localName] as Fields);
    if (oneof !== undefined && oneof.case !== field.localName) continue;
    const holder = oneof ?? message;
    const key = oneof === undefined ? field.localName : "value";
    const value = holder[key];
    if (value === undefined) continue;
    const each = (v: unknown, set: (n: number) => void): void => {
      if (table !== undefined) {
        const to = table.get(v as number);
        if (to === undefined) return;
        found = true;
        if (replace) set(to);
      } else if (inner !== undefined && v !== undefined && standIns(inner, v as Fields, replace)) found = true;
    };
    if (field.fieldKind === "list") {
      const list = value as unknown[];
      for (let i = 0; i < list.length; i++)
        each(list[i], (n) => {
          list[i] = n;
        });
    } else if (field.fieldKind === "map") {
      const map = value as Fields;
      for (const k of Object.keys(map)) each(map[k], (n) => (map[k] = n));
    } else each(value, (n) => (holder[key] = n));
    if (found && !replace) return true;
  }
  return found;
}

/**
 * `message` as a caller of `surface`'s release receives it, with its bytes: every field the
 * release does not declare removed, at any depth, and every enum value the release lacks replaced
 * by its stand-in. A message type the release did not have is returned unchanged (no caller of
 * that release asks for it), and so is one with nothing to change, without a copy: what a type
 * needs is worked out once per release. Deterministic: the same message and release give the same
 * bytes. `message` itself is never changed.
 */
export function shapeForRelease<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
  surface: FileRegistry,
  bytes?: Uint8Array,
): { readonly message: MessageShape<Desc>; readonly bytes: Uint8Array } {
  const shaped = shape(schema, message, surface, bytes);
  return { message: shaped.message, bytes: shaped.bytes ?? bytes ?? toBinary(schema, message) };
}

/** `message` as a caller of `surface`'s release receives it (shapeForRelease), without its bytes. */
export function messageForRelease<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
  surface: FileRegistry,
): MessageShape<Desc> {
  return shape(schema, message, surface, undefined).message;
}

/** The shaped message, and its bytes when it was changed (undefined: `message` as it is). */
function shape<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
  surface: FileRegistry,
  given: Uint8Array | undefined,
): { readonly message: MessageShape<Desc>; readonly bytes: Uint8Array | undefined } {
  const { old, dropsFields, steps } = planFor(schema, surface);
  if (old === undefined) return { message, bytes: undefined };
  const mapsValues = steps.length > 0 && standIns(steps, message as unknown as Fields, false);
  if (!dropsFields && !mapsValues) return { message, bytes: undefined };
  const bytes = given ?? toBinary(schema, message);
  if (!dropsFields) {
    const copy = fromBinary(schema, bytes);
    standIns(steps, copy as unknown as Fields, true);
    return { message: copy, bytes: toBinary(schema, copy) };
  }
  const kept = fromBinary(old, bytes, { readUnknownFields: false });
  if (mapsValues) standIns(steps, kept as unknown as Fields, true);
  const shaped = toBinary(old, kept);
  return { message: fromBinary(schema, shaped), bytes: shaped };
}
