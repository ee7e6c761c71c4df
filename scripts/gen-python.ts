/**
 * Writes gen/python, the Python code of the contracts for engines written in Python (the SDK,
 * services/engines/python-sdk, and the calc engine on it), with no protoc: buf (an npm package)
 * compiles the .proto files into images, and each file becomes a `<name>_pb2.py` that embeds its serialized FileDescriptorProto
 * and a `<name>_pb2_grpc.py` of stubs and servicers. Inputs: every .proto under proto/selene,
 * buf/validate/validate.proto from gen/proto, grpc.health.v1 as the npm package grpc-health-check
 * ships it and grpc.reflection.v1 as @grpc/reflection ships it (Debian's python3-grpcio has
 * neither). One importable tree (`selene.kernel.v1.reason_pb2`, `buf.validate.validate_pb2`,
 * `health.v1.health_pb2_grpc`, `reflection.v1.reflection_pb2_grpc`) with an `__init__.py` in every
 * directory; the two gRPC protos are compiled relative to their `grpc/` directory, since a
 * top-level package named `grpc` would shadow grpcio itself. Part of `npm run generate`; the
 * gen/ drift gate keeps it current.
 *
 * Usage: tsx scripts/gen-python.ts [--out <dir>]   (default gen/python)
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { fromBinary } from "@bufbuild/protobuf";
import { type FileDescriptorProto, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { embeddedFileBytes, imageFiles } from "./python-gen/descriptor-wire.js";
import { messageModule } from "./python-gen/message-module.js";
import { modulePath, typeHomes } from "./python-gen/python-names.js";
import { serviceModule } from "./python-gen/service-module.js";

/** Where the tree is committed, relative to the root. */
export const PYTHON_GEN_DIR = "gen/python";

/** One buf build: its input directory and which of the files it compiles get Python modules. */
interface Source {
  readonly args: readonly string[];
  readonly wanted: (name: string) => boolean;
}

const REFLECTION_DIR = "node_modules/@grpc/reflection/build/proto/grpc";
const SOURCES: readonly Source[] = [
  // The workspace of buf.yaml: proto/ and gen/proto.
  { args: [], wanted: (name) => name.startsWith("selene/") || name === "buf/validate/validate.proto" },
  { args: ["node_modules/grpc-health-check/proto"], wanted: (name) => name === "health/v1/health.proto" },
  {
    args: [REFLECTION_DIR, "--path", `${REFLECTION_DIR}/reflection/v1/reflection.proto`],
    wanted: (name) => name === "reflection/v1/reflection.proto",
  },
];

function bufImage(root: string, args: readonly string[]): Uint8Array {
  const result = spawnSync(join(root, "node_modules", ".bin", "buf"), ["build", ...args, "-o", "-"], {
    cwd: root,
    maxBuffer: 256 * 1024 * 1024,
  });
  if (result.error !== undefined) throw new Error(`buf could not run: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`buf build ${args.join(" ")} failed:\n${String(result.stderr).trim()}`);
  return new Uint8Array(result.stdout);
}

/** Every generated file of the tree, by path relative to it, in a stable order. */
export function pythonTree(root: string): Map<string, string> {
  const tree = new Map<string, string>();
  for (const source of SOURCES) {
    const raw = imageFiles(bufImage(root, source.args));
    const parsed: FileDescriptorProto[] = raw.map((bytes) => fromBinary(FileDescriptorProtoSchema, bytes));
    const homes = typeHomes(parsed);
    for (const [index, file] of parsed.entries()) {
      if (!source.wanted(file.name)) continue;
      tree.set(modulePath(file.name), messageModule(file, embeddedFileBytes(raw[index]!), homes));
      tree.set(modulePath(file.name, "_pb2_grpc"), serviceModule(file, homes));
      for (let dir = dirname(file.name); dir !== "."; dir = dirname(dir)) tree.set(`${dir}/__init__.py`, "");
    }
  }
  return new Map([...tree].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}

/** Replaces `out` with the tree. */
export function writePythonTree(root: string, out: string): number {
  const tree = pythonTree(root);
  rmSync(out, { recursive: true, force: true });
  for (const [path, text] of tree) {
    const target = join(out, path);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, text);
  }
  return tree.size;
}

if (import.meta.url === `file://${resolve(process.argv[1] ?? "")}`) {
  const { values } = parseArgs({ options: { out: { type: "string", default: PYTHON_GEN_DIR } } });
  const root = process.cwd();
  try {
    const count = writePythonTree(root, resolve(root, values.out));
    console.log(`gen-python: wrote ${count} files to ${values.out}`);
  } catch (err) {
    console.error(`gen-python: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
