/**
 * Generates the Python message and gRPC stubs of the contracts, for engines written in Python
 * (services/engines/calc). Uses the Debian `protoc` and `grpc_python_plugin`, since PyPI and the
 * buf registry are unreachable: every .proto under proto/selene, buf/validate/validate.proto from
 * gen/proto, grpc.health.v1 from the npm package grpc-health-check and grpc.reflection.v1 from the
 * npm package @grpc/reflection (Debian's python3-grpcio ships neither grpc_health nor
 * grpc_reflection). Output is one importable tree (`selene.kernel.v1.reason_pb2`,
 * `buf.validate.validate_pb2`, `health.v1.health_pb2_grpc`, `reflection.v1.reflection_pb2_grpc`)
 * with an `__init__.py` in every directory; it is built beside the target and swapped in, so a
 * reader sees the old or new tree. The two gRPC protos are compiled relative to their `grpc/`
 * directory: a top-level Python package named `grpc` in the tree would shadow grpcio itself.
 *
 * Usage: npx tsx deploy/build-python.ts [--out dist/python]
 */
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { dirname, join, relative, resolve, sep } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";
import { parseArgs } from "node:util";

/** Default output directory, relative to the repository root (git-ignored under dist/). */
export const DEFAULT_PYTHON_OUT = "dist/python";
/** Where Debian's protobuf-compiler-grpc installs the Python plugin. */
export const GRPC_PYTHON_PLUGIN = "/usr/bin/grpc_python_plugin";
/** The contracts' own protos, relative to the root. */
const PROTO_DIR = "proto";
/** Third-party protos we declare ourselves (buf/validate), relative to the root. */
const GEN_PROTO_DIR = "gen/proto";
const VALIDATE_PROTO = "buf/validate/validate.proto";
/** The health protocol as the npm package grpc-health-check ships it. */
const HEALTH_PROTO_DIR = "node_modules/grpc-health-check/proto";
const HEALTH_PROTO = "health/v1/health.proto";
/** The reflection protocol as the npm package @grpc/reflection ships it (below its `grpc/` directory). */
const REFLECTION_PROTO_DIR = "node_modules/@grpc/reflection/build/proto/grpc";
const REFLECTION_PROTO = "reflection/v1/reflection.proto";

/** Thrown when a tool or input of the build is missing; the message says what to install. */
export class PythonStubsError extends Error {
  override readonly name = "PythonStubsError";
}

/** Generates the Python stubs of every contract into `outDir` (relative to `root` unless absolute). */
export function buildPythonStubs(root: string, outDir = DEFAULT_PYTHON_OUT): void {
  const base = resolve(root);
  const out = resolve(base, outDir);
  const protoc = requireProtoc();
  requirePlugin();
  const selene = protoFiles(join(base, PROTO_DIR, "selene")).map((file) => relative(join(base, PROTO_DIR), file));
  if (selene.length === 0) throw new PythonStubsError(`no .proto files under ${join(base, PROTO_DIR, "selene")}`);
  for (const [dir, file, hint] of [
    [GEN_PROTO_DIR, VALIDATE_PROTO, "run `npm run generate`"],
    [HEALTH_PROTO_DIR, HEALTH_PROTO, "the npm package grpc-health-check is not installed"],
    [REFLECTION_PROTO_DIR, REFLECTION_PROTO, "the npm package @grpc/reflection is not installed"],
  ] as const) {
    if (!existsSync(join(base, dir, file))) throw new PythonStubsError(`missing ${join(dir, file)}: ${hint}`);
  }

  const staging = `${out}.${process.pid}.tmp`;
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  try {
    runProtoc(protoc, base, staging, [PROTO_DIR, GEN_PROTO_DIR], [...selene.map(toPosix), VALIDATE_PROTO]);
    runProtoc(protoc, base, staging, [HEALTH_PROTO_DIR], [HEALTH_PROTO]);
    runProtoc(protoc, base, staging, [REFLECTION_PROTO_DIR], [REFLECTION_PROTO]);
    addPackageMarkers(staging);
    mkdirSync(dirname(out), { recursive: true });
    rmSync(out, { recursive: true, force: true });
    renameSync(staging, out);
  } catch (err) {
    rmSync(staging, { recursive: true, force: true });
    throw err;
  }
}

/** The protoc to run; throws naming the Debian package when there is none. */
function requireProtoc(): string {
  const probe = spawnSync("protoc", ["--version"], { encoding: "utf8" });
  if (probe.error !== undefined || probe.status !== 0) {
    throw new PythonStubsError(
      "protoc was not found on PATH: install the Debian package protobuf-compiler (apt-get install protobuf-compiler)",
    );
  }
  return "protoc";
}

function requirePlugin(): void {
  if (!existsSync(GRPC_PYTHON_PLUGIN)) {
    throw new PythonStubsError(
      `${GRPC_PYTHON_PLUGIN} was not found: install the Debian package protobuf-compiler-grpc ` +
        "(apt-get install protobuf-compiler-grpc)",
    );
  }
}

function runProtoc(protoc: string, root: string, out: string, includes: readonly string[], files: string[]): void {
  const args = [
    ...includes.map((dir) => `-I${dir}`),
    `--plugin=protoc-gen-grpc_python=${GRPC_PYTHON_PLUGIN}`,
    `--python_out=${out}`,
    `--grpc_python_out=${out}`,
    ...files,
  ];
  const result = spawnSync(protoc, args, { cwd: root, encoding: "utf8" });
  if (result.error !== undefined) throw new PythonStubsError(`protoc failed to start: ${result.error.message}`);
  if (result.status !== 0) {
    throw new PythonStubsError(`protoc ${args.join(" ")} exited with ${result.status}:\n${result.stderr.trim()}`);
  }
}

/** Every .proto file under `dir`, sorted, as absolute paths. */
function protoFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const found: string[] = [];
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) found.push(...protoFiles(path));
    else if (entry.isFile() && entry.name.endsWith(".proto")) found.push(path);
  }
  return found.sort();
}

/** Makes every directory below `dir` a regular Python package. */
function addPackageMarkers(dir: string): void {
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (!statSync(path).isDirectory()) continue;
    const marker = join(path, "__init__.py");
    if (!existsSync(marker)) writeFileSync(marker, "");
    addPackageMarkers(path);
  }
}

function toPosix(path: string): string {
  return path.split(sep).join("/");
}

/** The CLI: builds into --out (default dist/python) under the repository root. */
export function main(argv: readonly string[]): void {
  const { values } = parseArgs({
    args: [...argv],
    options: { out: { type: "string", default: DEFAULT_PYTHON_OUT } },
  });
  // From source this file is deploy/build-python.ts; compiled, dist/deploy/build-python.js.
  const here = fileURLToPath(new URL(".", import.meta.url));
  const root =
    [resolve(here, ".."), resolve(here, "..", "..")].find((dir) => existsSync(resolve(dir, "proto"))) ?? here;
  buildPythonStubs(root, values.out);
  console.log(`build-python: wrote Python stubs to ${resolve(root, values.out)}`);
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  try {
    main(process.argv.slice(2));
  } catch (err) {
    console.error(`build-python: ${err instanceof Error ? err.message : String(err)}`);
    process.exitCode = 1;
  }
}
