/**
 * Stages the Python engines under an image's /opt/selene: the generated code (gen/python), the
 * Python engine SDK (services/engines/python-sdk/selene_engine) and each Python engine's own files
 * (services/engines/calc), without their tests. The engines find the SDK and the SDK finds
 * gen/python by their places in this tree, as in the repository.
 */
import { cpSync, mkdirSync, readdirSync } from "node:fs";
import { join } from "node:path";

/** The directories of Python sources staged, relative to the repository root. */
export const PYTHON_SOURCE_DIRS = [
  join("services", "engines", "python-sdk", "selene_engine"),
  join("services", "engines", "calc"),
] as const;

/** Copies the Python engines of the repository at `root` into `opt` (the staged /opt/selene). */
export function stagePythonEngines(root: string, opt: string): void {
  cpSync(join(root, "gen", "python"), join(opt, "gen", "python"), { recursive: true });
  for (const dir of PYTHON_SOURCE_DIRS) {
    mkdirSync(join(opt, dir), { recursive: true });
    for (const file of readdirSync(join(root, dir)).filter((f) => f.endsWith(".py") && !f.startsWith("test_"))) {
      cpSync(join(root, dir, file), join(opt, dir, file));
    }
  }
}
