/** Every file descriptor generated under gen/es/selene, read from the directory (so none is left out by a list). */
import { readdirSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import type { DescFile } from "@bufbuild/protobuf";

const GENERATED = join("gen", "es", "selene");

function generatedModules(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) return generatedModules(path);
    return entry.name.endsWith("_pb.ts") ? [path] : [];
  });
}

/** The descriptor of every generated selene file, in name order. */
export async function generatedFiles(): Promise<DescFile[]> {
  const files = new Map<string, DescFile>();
  for (const path of generatedModules(GENERATED)) {
    const module = (await import(pathToFileURL(join(process.cwd(), path)).href)) as Record<string, unknown>;
    for (const [name, value] of Object.entries(module))
      if (name.startsWith("file_")) files.set((value as DescFile).name, value as DescFile);
  }
  return [...files.values()].sort((a, b) => (a.name < b.name ? -1 : 1));
}
