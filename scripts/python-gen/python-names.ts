/**
 * How generated Python modules are named and import one another: `selene/kernel/v1/reason.proto`
 * is the module `selene.kernel.v1.reason_pb2`, imported under the alias
 * `selene_dot_kernel_dot_v1_dot_reason__pb2`, the layout protoc's Python output uses.
 */
import type { FileDescriptorProto } from "@bufbuild/protobuf/wkt";

/** `a/b/c.proto` -> `a.b.c_pb2`. */
export function moduleName(protoFile: string): string {
  return `${protoFile
    .replace(/\.proto$/, "")
    .split("/")
    .join(".")}_pb2`;
}

/** The file a module is written to, relative to the output root: `a/b/c_pb2.py`. */
export function modulePath(protoFile: string, suffix = "_pb2"): string {
  return `${protoFile.replace(/\.proto$/, "")}${suffix}.py`;
}

/** `a.b.c_pb2` -> `a_dot_b_dot_c__pb2`. */
export function moduleAlias(protoFile: string): string {
  return moduleName(protoFile).replaceAll("_", "__").replaceAll(".", "_dot_");
}

/** `from a.b import c_pb2 as alias` (or `import c_pb2 as alias` at the top level). */
export function importLine(protoFile: string): string {
  const name = moduleName(protoFile);
  const dot = name.lastIndexOf(".");
  const alias = moduleAlias(protoFile);
  return dot < 0
    ? `import ${name} as ${alias}`
    : `from ${name.slice(0, dot)} import ${name.slice(dot + 1)} as ${alias}`;
}

/** Where a type is defined: its file and its class path inside that module (`Outer.Inner`). */
export interface TypeHome {
  readonly file: string;
  readonly classPath: string;
}

/** Every message and enum of `files` by full name with a leading dot (`.selene.kernel.v1.Envelope`). */
export function typeHomes(files: readonly FileDescriptorProto[]): Map<string, TypeHome> {
  const homes = new Map<string, TypeHome>();
  for (const file of files) {
    const prefix = file.package === "" ? "." : `.${file.package}.`;
    const visit = (
      messages: FileDescriptorProto["messageType"],
      enums: FileDescriptorProto["enumType"],
      path: string,
    ): void => {
      for (const e of enums) homes.set(`${prefix}${path}${e.name}`, { file: file.name, classPath: `${path}${e.name}` });
      for (const m of messages) {
        homes.set(`${prefix}${path}${m.name}`, { file: file.name, classPath: `${path}${m.name}` });
        visit(m.nestedType, m.enumType, `${path}${m.name}.`);
      }
    };
    visit(file.messageType, file.enumType, "");
  }
  return homes;
}

/** A type as code in `fromFile` refers to it: `alias.Class` from another module, `Class` from its own. */
export function typeReference(homes: ReadonlyMap<string, TypeHome>, fullName: string, fromFile: string): string {
  const home = homes.get(fullName);
  if (home === undefined) throw new Error(`${fromFile}: type ${fullName} is not defined in any input file`);
  return home.file === fromFile ? home.classPath : `${moduleAlias(home.file)}.${home.classPath}`;
}

/** Python source for a bytes literal: printable ASCII as is, everything else escaped. */
export function bytesLiteral(bytes: Uint8Array): string {
  let text = "";
  for (const byte of bytes) {
    if (byte === 0x5c) text += "\\\\";
    else if (byte === 0x27) text += "\\'";
    else if (byte === 0x0a) text += "\\n";
    else if (byte === 0x0d) text += "\\r";
    else if (byte === 0x09) text += "\\t";
    else if (byte >= 0x20 && byte < 0x7f) text += String.fromCharCode(byte);
    else text += `\\x${byte.toString(16).padStart(2, "0")}`;
  }
  return `b'${text}'`;
}

/** Python source for a str literal in single quotes. */
export function stringLiteral(text: string): string {
  return `'${text.replaceAll("\\", "\\\\").replaceAll("'", "\\'")}'`;
}
