/**
 * Derives `gen/proto/buf/validate/validate.proto` from the file descriptor that
 * @bufbuild/protovalidate ships in its generated code.
 *
 * The buf registry is unreachable and no npm package ships the .proto source, so
 * we print a wire-compatible declaration (same packages, names, numbers, types
 * and labels) from the descriptor itself. Rule options (the CEL expressions of
 * predefined rules) are left out on purpose: the runtime evaluates rules from its
 * own embedded descriptor, and only the wire shape of the annotations we write in
 * proto/ has to match.
 *
 * Usage: tsx scripts/derive-validate-proto.ts [--out <dir>]
 */
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { isFieldSet } from "@bufbuild/protobuf";
import {
  type DescriptorProto,
  DescriptorProtoSchema,
  type EnumDescriptorProto,
  type FieldDescriptorProto,
  FieldDescriptorProto_Label,
  FieldDescriptorProto_Type,
  FieldDescriptorProtoSchema,
  type FileDescriptorProto,
} from "@bufbuild/protobuf/wkt";
import { file_buf_validate_validate } from "@bufbuild/protovalidate/gen/buf/validate/validate_pb.js";

const scalarNames: Partial<Record<FieldDescriptorProto_Type, string>> = {
  [FieldDescriptorProto_Type.DOUBLE]: "double",
  [FieldDescriptorProto_Type.FLOAT]: "float",
  [FieldDescriptorProto_Type.INT64]: "int64",
  [FieldDescriptorProto_Type.UINT64]: "uint64",
  [FieldDescriptorProto_Type.INT32]: "int32",
  [FieldDescriptorProto_Type.FIXED64]: "fixed64",
  [FieldDescriptorProto_Type.FIXED32]: "fixed32",
  [FieldDescriptorProto_Type.BOOL]: "bool",
  [FieldDescriptorProto_Type.STRING]: "string",
  [FieldDescriptorProto_Type.BYTES]: "bytes",
  [FieldDescriptorProto_Type.UINT32]: "uint32",
  [FieldDescriptorProto_Type.SFIXED32]: "sfixed32",
  [FieldDescriptorProto_Type.SFIXED64]: "sfixed64",
  [FieldDescriptorProto_Type.SINT32]: "sint32",
  [FieldDescriptorProto_Type.SINT64]: "sint64",
};

/** Maximum field number plus one, as stored in descriptor ranges for "max". */
const FIELD_NUMBER_END = 536870912;

function typeOf(field: FieldDescriptorProto): string {
  const scalar = scalarNames[field.type];
  if (scalar !== undefined) return scalar;
  if (field.type === FieldDescriptorProto_Type.GROUP) {
    throw new Error(`groups are not supported (field ${field.name})`);
  }
  return field.typeName; // fully qualified, with a leading dot
}

function printField(field: FieldDescriptorProto, indent: string, inOneof: boolean): string {
  const label = inOneof
    ? ""
    : field.label === FieldDescriptorProto_Label.REPEATED
      ? "repeated "
      : field.label === FieldDescriptorProto_Label.REQUIRED
        ? "required "
        : "optional ";
  const dflt = isFieldSet(field, FieldDescriptorProtoSchema.field.defaultValue)
    ? ` [default = ${JSON.stringify(field.defaultValue)}]`
    : "";
  return `${indent}${label}${typeOf(field)} ${field.name} = ${field.number}${dflt};`;
}

function printRange(start: number, end: number): string {
  return end === FIELD_NUMBER_END ? `${start} to max` : end - 1 === start ? `${start}` : `${start} to ${end - 1}`;
}

function printEnum(e: EnumDescriptorProto, indent: string): string[] {
  const lines = [`${indent}enum ${e.name} {`];
  for (const v of e.value) lines.push(`${indent}  ${v.name} = ${v.number};`);
  lines.push(`${indent}}`);
  return lines;
}

function printMessage(m: DescriptorProto, indent: string): string[] {
  if (isFieldSet(m, DescriptorProtoSchema.field.options) && m.options?.mapEntry) {
    throw new Error(`map entries are not supported (${m.name})`);
  }
  const inner = `${indent}  `;
  const lines = [`${indent}message ${m.name} {`];
  for (const e of m.enumType) lines.push(...printEnum(e, inner));
  for (const n of m.nestedType) lines.push(...printMessage(n, inner));
  const oneofFields = new Map<number, FieldDescriptorProto[]>();
  for (const f of m.field) {
    if (isFieldSet(f, FieldDescriptorProtoSchema.field.oneofIndex)) {
      const list = oneofFields.get(f.oneofIndex) ?? [];
      list.push(f);
      oneofFields.set(f.oneofIndex, list);
    } else {
      lines.push(printField(f, inner, false));
    }
  }
  m.oneofDecl.forEach((o, i) => {
    lines.push(`${inner}oneof ${o.name} {`);
    for (const f of oneofFields.get(i) ?? []) lines.push(printField(f, `${inner}  `, true));
    lines.push(`${inner}}`);
  });
  for (const r of m.reservedRange) lines.push(`${inner}reserved ${printRange(r.start, r.end)};`);
  if (m.reservedName.length > 0) {
    lines.push(`${inner}reserved ${m.reservedName.map((n) => JSON.stringify(n)).join(", ")};`);
  }
  for (const r of m.extensionRange) lines.push(`${inner}extensions ${printRange(r.start, r.end)};`);
  lines.push(`${indent}}`);
  return lines;
}

/** Prints a proto2 file descriptor as .proto source, without options. */
export function printProto2File(file: FileDescriptorProto, origin: string): string {
  if (file.syntax !== "" && file.syntax !== "proto2") {
    throw new Error(`expected a proto2 file, got syntax "${file.syntax}"`);
  }
  const lines = [
    "// Code generated by scripts/derive-validate-proto.ts. DO NOT EDIT.",
    `// Derived from the descriptor shipped in ${origin}:`,
    "// names, numbers, types and labels only (wire-compatible), no rule options.",
    'syntax = "proto2";',
    "",
    `package ${file.package};`,
    "",
    ...file.dependency.map((d) => `import "${d}";`),
    "",
  ];
  for (const e of file.enumType) lines.push(...printEnum(e, ""), "");
  for (const m of file.messageType) lines.push(...printMessage(m, ""), "");
  const byExtendee = new Map<string, FieldDescriptorProto[]>();
  for (const x of file.extension) {
    byExtendee.set(x.extendee, [...(byExtendee.get(x.extendee) ?? []), x]);
  }
  for (const [extendee, fields] of byExtendee) {
    lines.push(`extend ${extendee} {`, ...fields.map((f) => printField(f, "  ", false)), "}", "");
  }
  return `${lines.join("\n").trimEnd()}\n`;
}

function main(): void {
  const outIndex = process.argv.indexOf("--out");
  const outDir = outIndex >= 0 ? (process.argv[outIndex + 1] ?? "gen/proto") : "gen/proto";
  const file = file_buf_validate_validate.proto;
  const target = join(outDir, file.name);
  mkdirSync(dirname(target), { recursive: true });
  writeFileSync(target, printProto2File(file, "@bufbuild/protovalidate"));
}

main();
