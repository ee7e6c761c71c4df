/**
 * A structural pass over protobuf bytes against a message schema, before they
 * are decoded. protobuf-es decodes a known field by its declared type without
 * checking the wire type, accepts over-long varints and replaces invalid UTF-8,
 * so this pass is what makes a wrong wire type, bad UTF-8, truncation or absurd
 * nesting a deterministic rejection with a field path. It also lists every
 * unknown field, at any depth, with its path.
 */
import { isUtf8 } from "node:buffer";
import { type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";
import { type Path, pathToString } from "@bufbuild/protobuf/reflect";
import { BinaryReader, WireType } from "@bufbuild/protobuf/wire";

/** Nesting deeper than this is rejected as malformed (no contract nests near it). */
export const MAX_NESTING_DEPTH = 32;

/** The longest valid varint, in bytes. */
const MAX_VARINT_BYTES = 10;

/** A field number the schema does not declare, found at `path`. */
export interface UnknownField {
  readonly path: string;
  readonly fieldNumber: number;
  readonly wireType: WireType;
}

/** Thrown when the bytes are not a well-formed encoding of the schema. */
export class MalformedWireError extends Error {
  override readonly name = "MalformedWireError";
  constructor(
    /** Path of the field where decoding failed, "" at the top level. */
    readonly path: string,
    /** Stable id of what failed, such as "wire_type" or "truncated". */
    readonly ruleId: string,
    message: string,
  ) {
    super(message);
  }
}

const wireTypeNames: Record<number, string> = {
  [WireType.Varint]: "varint",
  [WireType.Bit64]: "fixed64",
  [WireType.LengthDelimited]: "length-delimited",
  [WireType.StartGroup]: "start-group",
  [WireType.EndGroup]: "end-group",
  [WireType.Bit32]: "fixed32",
};

/** Names a wire type as in error messages. */
export function wireTypeName(wireType: WireType): string {
  return wireTypeNames[wireType] ?? `wire type ${wireType}`;
}

function scalarWireType(scalar: ScalarType): WireType {
  switch (scalar) {
    case ScalarType.STRING:
    case ScalarType.BYTES:
      return WireType.LengthDelimited;
    case ScalarType.DOUBLE:
    case ScalarType.FIXED64:
    case ScalarType.SFIXED64:
      return WireType.Bit64;
    case ScalarType.FLOAT:
    case ScalarType.FIXED32:
    case ScalarType.SFIXED32:
      return WireType.Bit32;
    default:
      return WireType.Varint;
  }
}

const fieldsByNumber = new WeakMap<DescMessage, ReadonlyMap<number, DescField>>();

function fieldMap(desc: DescMessage): ReadonlyMap<number, DescField> {
  let map = fieldsByNumber.get(desc);
  if (map === undefined) {
    map = new Map(desc.fields.map((f) => [f.number, f]));
    fieldsByNumber.set(desc, map);
  }
  return map;
}

const utf8Decoder = new TextDecoder();

/** One scan: the bytes, a reader over them, and the unknown fields found so far. */
class Scan {
  readonly reader: BinaryReader;
  readonly unknown: UnknownField[] = [];

  constructor(readonly bytes: Uint8Array) {
    this.reader = new BinaryReader(bytes);
  }

  /** Reads a tag; throws on field number 0 or wire types 6 and 7. */
  tag(path: Path): [number, WireType] {
    try {
      return this.reader.tag();
    } catch (e) {
      return fail(path, "malformed", (e as Error).message);
    }
  }

  /** Reads a length prefix and returns the end offset of the delimited region. */
  delimitedEnd(end: number, path: Path): number {
    const len = this.varint(end, path);
    const regionEnd = this.reader.pos + len;
    if (regionEnd > end) fail(path, "truncated", "length-delimited field runs past the end of its message");
    return regionEnd;
  }

  /** Reads a varint of at most ten bytes that ends before `end`, as a number (lengths only need 32 bits). */
  varint(end: number, path: Path): number {
    let value = 0;
    let scale = 1;
    for (let i = 0; ; i++) {
      if (i >= MAX_VARINT_BYTES) fail(path, "malformed", "varint longer than ten bytes");
      if (this.reader.pos >= end) fail(path, "truncated", "varint runs past the end of its message");
      const b = this.bytes[this.reader.pos++]!;
      value += (b & 0x7f) * scale;
      scale *= 128;
      if ((b & 0x80) === 0) return value;
    }
  }

  /** Skips one value of a non-group wire type. */
  skip(wireType: WireType, end: number, path: Path): void {
    switch (wireType) {
      case WireType.Varint:
        this.varint(end, path);
        return;
      case WireType.Bit64:
        this.advance(8, end, path);
        return;
      case WireType.Bit32:
        this.advance(4, end, path);
        return;
      case WireType.LengthDelimited:
        this.reader.pos = this.delimitedEnd(end, path);
        return;
      default:
        fail(path, "wire_type", `${wireTypeName(wireType)} is not supported`);
    }
  }

  /** Reads a length-delimited string and checks that it is valid UTF-8. */
  utf8(end: number, path: Path): Uint8Array {
    const regionEnd = this.delimitedEnd(end, path);
    const raw = this.bytes.subarray(this.reader.pos, regionEnd);
    this.reader.pos = regionEnd;
    if (!isUtf8(raw)) fail(path, "utf8", "string field is not valid UTF-8");
    return raw;
  }

  private advance(n: number, end: number, path: Path): void {
    if (this.reader.pos + n > end) fail(path, "truncated", "fixed-width field runs past the end of its message");
    this.reader.pos += n;
  }
}

/** Scans `bytes` as an encoding of `desc`; returns unknown fields, throws MalformedWireError. */
export function scanWire(desc: DescMessage, bytes: Uint8Array): UnknownField[] {
  const scan = new Scan(bytes);
  scanMessage(scan, bytes.length, desc, [], 0);
  return scan.unknown;
}

function fail(path: Path, ruleId: string, message: string): never {
  throw new MalformedWireError(pathToString(path), ruleId, message);
}

function expectWireType(path: Path, actual: WireType, expected: WireType): void {
  if (actual !== expected) {
    fail(path, "wire_type", `wire type ${wireTypeName(actual)} does not match the declared ${wireTypeName(expected)}`);
  }
}

function unknownPath(path: Path, fieldNumber: number): string {
  return path.length === 0 ? String(fieldNumber) : `${pathToString(path)}.${fieldNumber}`;
}

function scanMessage(scan: Scan, end: number, desc: DescMessage, path: Path, depth: number): void {
  if (depth > MAX_NESTING_DEPTH) fail(path, "depth", `messages nest deeper than ${MAX_NESTING_DEPTH} levels`);
  const fields = fieldMap(desc);
  let listCounts: Map<number, number> | undefined;
  while (scan.reader.pos < end) {
    const [no, wireType] = scan.tag(path);
    const field = fields.get(no);
    if (field === undefined) {
      scan.unknown.push({ path: unknownPath(path, no), fieldNumber: no, wireType });
      scan.skip(wireType, end, path);
      continue;
    }
    const fieldPath: Path = [...path, field];
    switch (field.fieldKind) {
      case "scalar":
        expectWireType(fieldPath, wireType, scalarWireType(field.scalar));
        scanScalar(scan, end, field.scalar, wireType, fieldPath);
        break;
      case "enum":
        expectWireType(fieldPath, wireType, WireType.Varint);
        scan.varint(end, fieldPath);
        break;
      case "message": {
        expectWireType(fieldPath, wireType, WireType.LengthDelimited);
        const regionEnd = scan.delimitedEnd(end, fieldPath);
        scanMessage(scan, regionEnd, field.message, fieldPath, depth + 1);
        break;
      }
      case "list": {
        listCounts ??= new Map();
        const index = listCounts.get(no) ?? 0;
        listCounts.set(no, index + 1);
        scanListElement(scan, end, field, wireType, [...fieldPath, { kind: "list_sub", index }], depth);
        break;
      }
      case "map": {
        expectWireType(fieldPath, wireType, WireType.LengthDelimited);
        const regionEnd = scan.delimitedEnd(end, fieldPath);
        scanMapEntry(scan, regionEnd, field, fieldPath, depth + 1);
        break;
      }
    }
  }
  if (scan.reader.pos !== end) fail(path, "truncated", "a field runs past the end of its message");
}

function scanScalar(scan: Scan, end: number, scalar: ScalarType, wireType: WireType, path: Path): void {
  if (scalar === ScalarType.STRING) scan.utf8(end, path);
  else scan.skip(wireType, end, path);
}

function scanListElement(
  scan: Scan,
  end: number,
  field: DescField & { fieldKind: "list" },
  wireType: WireType,
  path: Path,
  depth: number,
): void {
  if (field.listKind === "message") {
    expectWireType(path, wireType, WireType.LengthDelimited);
    const regionEnd = scan.delimitedEnd(end, path);
    scanMessage(scan, regionEnd, field.message, path, depth + 1);
    return;
  }
  const scalar = field.listKind === "scalar" ? field.scalar : ScalarType.INT32;
  const elementWireType = scalarWireType(scalar);
  if (wireType === WireType.LengthDelimited && elementWireType !== WireType.LengthDelimited) {
    scanPacked(scan, end, elementWireType, path);
    return;
  }
  expectWireType(path, wireType, elementWireType);
  scanScalar(scan, end, scalar, wireType, path);
}

function scanPacked(scan: Scan, end: number, elementWireType: WireType, path: Path): void {
  const regionEnd = scan.delimitedEnd(end, path);
  const width = elementWireType === WireType.Bit64 ? 8 : elementWireType === WireType.Bit32 ? 4 : 0;
  if (width > 0) {
    if ((regionEnd - scan.reader.pos) % width !== 0) {
      fail(path, "truncated", "packed field length is not a multiple of its element size");
    }
    scan.reader.pos = regionEnd;
    return;
  }
  while (scan.reader.pos < regionEnd) scan.varint(regionEnd, path);
}

function scanMapEntry(
  scan: Scan,
  end: number,
  field: DescField & { fieldKind: "map" },
  path: Path,
  depth: number,
): void {
  let key: string | number = "";
  while (scan.reader.pos < end) {
    const [no, wireType] = scan.tag(path);
    if (no === 1) {
      expectWireType(path, wireType, scalarWireType(field.mapKey));
      if (field.mapKey === ScalarType.STRING) key = utf8Decoder.decode(scan.utf8(end, path));
      else scan.skip(wireType, end, path);
    } else if (no === 2) {
      const valuePath: Path = [...path, { kind: "map_sub", key }];
      if (field.mapKind === "message") {
        expectWireType(valuePath, wireType, WireType.LengthDelimited);
        const regionEnd = scan.delimitedEnd(end, valuePath);
        scanMessage(scan, regionEnd, field.message, valuePath, depth + 1);
      } else {
        const scalar = field.mapKind === "scalar" ? field.scalar : ScalarType.INT32;
        expectWireType(valuePath, wireType, scalarWireType(scalar));
        scanScalar(scan, end, scalar, wireType, valuePath);
      }
    } else {
      scan.unknown.push({ path: unknownPath(path, no), fieldNumber: no, wireType });
      scan.skip(wireType, end, path);
    }
  }
  if (scan.reader.pos !== end) fail(path, "truncated", "a map entry runs past the end of its field");
}
