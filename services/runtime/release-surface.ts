/**
 * The surface of a released contract version: the image `npm run baseline`
 * recorded under proto/releases/ (v<major>.<minor>.binpb), read as a registry
 * of that release's messages. A server answers a caller at an older supported
 * version with the response shaped to that surface (shapeForRelease): the
 * fields the release did not have are dropped at every depth, so the old
 * client's decoder and validator never meet a field they do not know.
 */
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  createFileRegistry,
  type DescMessage,
  type FileRegistry,
  fromBinary,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { FileDescriptorSetSchema } from "@bufbuild/protobuf/wkt";
import { formatVersion, type Version } from "./contract-version.js";

// From source this module is services/runtime/; compiled, dist/services/runtime/. The images stay
// in proto/releases/ at the project root (and in the application image, beside dist/).
const HERE = dirname(fileURLToPath(import.meta.url));
const RELEASES_ROOT = [
  join(HERE, "..", "..", "proto", "releases"),
  join(HERE, "..", "..", "..", "proto", "releases"),
].find((dir) => existsSync(dir));

const surfaces = new Map<string, FileRegistry | undefined>();

/** Reads a buf image (a FileDescriptorSet on the wire, with its imports) into a registry. */
export function imageRegistry(bytes: Uint8Array): FileRegistry {
  return createFileRegistry(fromBinary(FileDescriptorSetSchema, bytes));
}

/** The registry of release `version`'s image; undefined when no image of it is recorded. */
export function releaseSurface(version: Version): FileRegistry | undefined {
  const name = `v${formatVersion(version)}`;
  if (!surfaces.has(name)) {
    const path = RELEASES_ROOT === undefined ? undefined : join(RELEASES_ROOT, `${name}.binpb`);
    const registry = path !== undefined && existsSync(path) ? imageRegistry(readFileSync(path)) : undefined;
    surfaces.set(name, registry);
  }
  return surfaces.get(name);
}

/**
 * `message` with every field `surface` does not declare removed, at any depth, with its bytes.
 * A message type the release did not have is returned unchanged (no caller of that release asks
 * for it). Deterministic: the same message and release give the same bytes.
 */
export function shapeForRelease<Desc extends DescMessage>(
  schema: Desc,
  message: MessageShape<Desc>,
  surface: FileRegistry,
): { readonly message: MessageShape<Desc>; readonly bytes: Uint8Array } {
  const bytes = toBinary(schema, message);
  const old = surface.getMessage(schema.typeName);
  if (old === undefined) return { message, bytes };
  const shaped = toBinary(old, fromBinary(old, bytes, { readUnknownFields: false }));
  return { message: fromBinary(schema, shaped), bytes: shaped };
}
