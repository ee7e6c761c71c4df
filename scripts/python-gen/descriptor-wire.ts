/**
 * The wire form of a FileDescriptorProto as a Python module embeds it: the bytes a compiler would
 * serialize (no source info, no json_name, none of buf's image extensions), and, walked from those
 * bytes, where each message's and enum's own bytes lie and each element's serialized options, which
 * the pure-Python protobuf runtime reads lazily.
 */

interface WireField {
  readonly number: number;
  readonly wireType: number;
  /** Where the tag starts. */
  readonly start: number;
  /** Where the value (after the tag, and after the length of a length-delimited field) starts. */
  readonly valueStart: number;
  /** Where the field ends. */
  readonly end: number;
}

function readVarint(bytes: Uint8Array, at: number): [value: number, next: number] {
  let value = 0;
  let shift = 0;
  let pos = at;
  for (;;) {
    if (pos >= bytes.length) throw new Error("truncated varint in a file descriptor");
    const byte = bytes[pos++]!;
    value += (byte & 0x7f) * 2 ** shift;
    if ((byte & 0x80) === 0) return [value, pos];
    shift += 7;
  }
}

function writeVarint(value: number): number[] {
  const out: number[] = [];
  let rest = value;
  while (rest >= 0x80) {
    out.push((rest % 0x80) | 0x80);
    rest = Math.floor(rest / 0x80);
  }
  out.push(rest);
  return out;
}

/** The top-level fields of one encoded message, in wire order. */
function fields(bytes: Uint8Array, from = 0, to = bytes.length): WireField[] {
  const found: WireField[] = [];
  let pos = from;
  while (pos < to) {
    const start = pos;
    const [tag, afterTag] = readVarint(bytes, pos);
    const number = Math.floor(tag / 8);
    const wireType = tag & 7;
    let valueStart = afterTag;
    let end: number;
    switch (wireType) {
      case 0:
        end = readVarint(bytes, afterTag)[1];
        break;
      case 1:
        end = afterTag + 8;
        break;
      case 2: {
        const [length, afterLength] = readVarint(bytes, afterTag);
        valueStart = afterLength;
        end = afterLength + length;
        break;
      }
      case 5:
        end = afterTag + 4;
        break;
      default:
        throw new Error(`unsupported wire type ${wireType} in a file descriptor`);
    }
    if (end > to) throw new Error("truncated field in a file descriptor");
    found.push({ number, wireType, start, valueStart, end });
    pos = end;
  }
  return found;
}

/** How to rewrite one message type: fields to drop, and nested messages to rewrite by field number. */
interface Shape {
  readonly keep: (field: number) => boolean;
  readonly nested: Readonly<Record<number, Shape>>;
}

// FieldDescriptorProto.json_name (10): compilers leave it out of what generated code embeds.
const FIELD: Shape = { keep: (n) => n !== 10, nested: {} };
const MESSAGE: Shape = {
  keep: () => true,
  get nested() {
    // field (2), nested_type (3), extension (6)
    return { 2: FIELD, 3: MESSAGE, 6: FIELD };
  },
};
// FileDescriptorProto: name 1 .. edition 14 without source_code_info (9); buf's image extension (8042) goes.
const FILE: Shape = {
  keep: (n) => n >= 1 && n <= 14 && n !== 9,
  nested: { 4: MESSAGE, 7: FIELD },
};

function rewrite(bytes: Uint8Array, shape: Shape): Uint8Array {
  const out: number[] = [];
  for (const f of fields(bytes)) {
    if (!shape.keep(f.number)) continue;
    const inner = f.wireType === 2 ? shape.nested[f.number] : undefined;
    if (inner === undefined) {
      out.push(...bytes.subarray(f.start, f.end));
      continue;
    }
    const value = rewrite(bytes.subarray(f.valueStart, f.end), inner);
    out.push(...bytes.subarray(f.start, f.valueStart - lengthSize(bytes, f)), ...writeVarint(value.length), ...value);
  }
  return Uint8Array.from(out);
}

function lengthSize(bytes: Uint8Array, f: WireField): number {
  const afterTag = readVarint(bytes, f.start)[1];
  return f.valueStart - afterTag;
}

/** The FileDescriptorProto bytes a generated module embeds, from one file of a buf image. */
export function embeddedFileBytes(imageFile: Uint8Array): Uint8Array {
  return rewrite(imageFile, FILE);
}

/** A message, enum or service of the file, as the generated module names its descriptor. */
export interface DescribedElement {
  /** The module global of the descriptor, such as `_ENVELOPE` or `_TURN_PARTSENTRY`. */
  readonly global: string;
  /** Where its DescriptorProto lies in the file's bytes (messages and enums). */
  readonly start: number;
  readonly end: number;
  /** Serialized options of the element itself, when set. */
  readonly options?: Uint8Array;
  /** Serialized options of its members (fields, oneofs, enum values, methods), by kind and name. */
  readonly members: ReadonlyArray<{
    kind: "fields" | "oneofs" | "values" | "methods";
    name: string;
    options: Uint8Array;
  }>;
}

/** The layout of an embedded file: its own options and those of every element, with each element's byte range. */
export interface FileLayout {
  readonly options?: Uint8Array;
  readonly elements: readonly DescribedElement[];
}

const decoder = new TextDecoder();

function stringField(bytes: Uint8Array, of: WireField[], number: number): string {
  const f = of.find((x) => x.number === number);
  return f === undefined ? "" : decoder.decode(bytes.subarray(f.valueStart, f.end));
}

function optionsField(bytes: Uint8Array, of: WireField[], number: number): Uint8Array | undefined {
  const f = of.find((x) => x.number === number && x.wireType === 2);
  return f === undefined || f.end === f.valueStart ? undefined : bytes.slice(f.valueStart, f.end);
}

function members(
  bytes: Uint8Array,
  of: WireField[],
  number: number,
  kind: DescribedElement["members"][number]["kind"],
  optionsNumber: number,
): DescribedElement["members"] {
  return of
    .filter((f) => f.number === number)
    .flatMap((f) => {
      const inner = fields(bytes, f.valueStart, f.end);
      const options = optionsField(bytes, inner, optionsNumber);
      return options === undefined ? [] : [{ kind, name: stringField(bytes, inner, 1), options }];
    });
}

function describeEnum(bytes: Uint8Array, f: WireField, prefix: string): DescribedElement {
  const inner = fields(bytes, f.valueStart, f.end);
  const options = optionsField(bytes, inner, 3);
  return {
    global: `${prefix}${stringField(bytes, inner, 1).toUpperCase()}`,
    start: f.valueStart,
    end: f.end,
    ...(options === undefined ? {} : { options }),
    // EnumDescriptorProto.value (2), EnumValueDescriptorProto.options (3)
    members: members(bytes, inner, 2, "values", 3),
  };
}

function describeMessage(bytes: Uint8Array, f: WireField, prefix: string): DescribedElement[] {
  const inner = fields(bytes, f.valueStart, f.end);
  const global = `${prefix}${stringField(bytes, inner, 1).toUpperCase()}`;
  const options = optionsField(bytes, inner, 7);
  const own: DescribedElement = {
    global,
    start: f.valueStart,
    end: f.end,
    ...(options === undefined ? {} : { options }),
    // field (2) with FieldDescriptorProto.options (8); oneof_decl (8) with OneofDescriptorProto.options (2)
    members: [...members(bytes, inner, 2, "fields", 8), ...members(bytes, inner, 8, "oneofs", 2)],
  };
  return [
    own,
    ...inner.filter((x) => x.number === 3).flatMap((x) => describeMessage(bytes, x, `${global}_`)),
    ...inner.filter((x) => x.number === 4).map((x) => describeEnum(bytes, x, `${global}_`)),
  ];
}

/** Walks embedded file bytes: every message (nested too), enum and service with its range and options. */
export function fileLayout(bytes: Uint8Array): FileLayout {
  const top = fields(bytes);
  const options = optionsField(bytes, top, 8);
  const elements: DescribedElement[] = [];
  for (const f of top) {
    if (f.number === 4) elements.push(...describeMessage(bytes, f, "_"));
    else if (f.number === 5) elements.push(describeEnum(bytes, f, "_"));
    else if (f.number === 6) {
      const inner = fields(bytes, f.valueStart, f.end);
      const serviceOptions = optionsField(bytes, inner, 3);
      elements.push({
        global: `_${stringField(bytes, inner, 1).toUpperCase()}`,
        start: f.valueStart,
        end: f.end,
        ...(serviceOptions === undefined ? {} : { options: serviceOptions }),
        // method (2) with MethodDescriptorProto.options (4)
        members: members(bytes, inner, 2, "methods", 4),
      });
    }
  }
  return { ...(options === undefined ? {} : { options }), elements };
}

/** The top-level entries (field 1) of an encoded FileDescriptorSet or buf image, each a file's bytes. */
export function imageFiles(image: Uint8Array): Uint8Array[] {
  return fields(image)
    .filter((f) => f.number === 1 && f.wireType === 2)
    .map((f) => image.slice(f.valueStart, f.end));
}
