/**
 * The contract surface this build speaks: its version (version.proto) plus the additions that wait
 * for the next release (docs/DEPRECATION.md), which the version number cannot tell apart. Its digest
 * travels as the `selene-contract-surface` request header from every client of this code base
 * (unary-client.ts); a server at the same version with the same digest knows the caller has every
 * value it has, so it answers as it is. Any other caller (another build, another language, a client
 * of a release) gets answers shaped to its declared release (contract-negotiation.ts).
 */
import { createHash } from "node:crypto";
import { type DescFile, toBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { file_selene_audit_v1_audit } from "../../gen/es/selene/audit/v1/audit_pb.js";
import { file_selene_engine_v1_engine } from "../../gen/es/selene/engine/v1/engine_pb.js";
import { file_selene_governance_v1_governance } from "../../gen/es/selene/governance/v1/governance_pb.js";
import { file_selene_kernel_v1_error } from "../../gen/es/selene/kernel/v1/error_pb.js";
import { file_selene_kernel_v1_version } from "../../gen/es/selene/kernel/v1/version_pb.js";
import { file_selene_os_v1_turn } from "../../gen/es/selene/os/v1/turn_pb.js";
import { file_selene_outbox_v1_outbox } from "../../gen/es/selene/outbox/v1/outbox_pb.js";

/** The request header that names the caller's contract surface. */
export const CONTRACT_SURFACE_KEY = "selene-contract-surface";

/**
 * Every service's file, the version's and the error detail's (it travels in trailers, imported by
 * no service): with their imports, every selene file a call can carry.
 */
export const SURFACE_ROOTS: readonly DescFile[] = [
  file_selene_audit_v1_audit,
  file_selene_engine_v1_engine,
  file_selene_governance_v1_governance,
  file_selene_kernel_v1_error,
  file_selene_kernel_v1_version,
  file_selene_os_v1_turn,
  file_selene_outbox_v1_outbox,
];

/** The selene files reachable from `roots` through their imports, by name. */
export function surfaceFiles(roots: readonly DescFile[] = SURFACE_ROOTS): DescFile[] {
  const files = new Map<string, DescFile>();
  const visit = (file: DescFile) => {
    if (files.has(file.name) || !file.name.startsWith("selene/")) return;
    files.set(file.name, file);
    for (const dep of file.dependencies) visit(dep);
  };
  for (const root of roots) visit(root);
  return [...files.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}

function digestOf(files: readonly DescFile[]): string {
  const hash = createHash("sha256");
  for (const file of files) {
    const bytes = toBinary(FileDescriptorProtoSchema, file.proto);
    hash.update(`${file.name}\n${bytes.length}\n`).update(bytes);
  }
  return `sha256:${hash.digest("hex")}`;
}

/** The digest of this build's surface: sha256 over each selene file's descriptor, in name order. */
export const CONTRACT_SURFACE: string = digestOf(surfaceFiles());
