/** The catalog entry (name and SPIFFE id) of one of the mesh's engines, for tests that build an engine client. */
import { type CatalogEngine, loadEngineCatalog } from "../../services/runtime/policy/engine-catalog.js";

/** The shipped catalog's engine `name`; throws for a name it does not hold. */
export function meshEngine(name: string): CatalogEngine {
  const engine = loadEngineCatalog().engines.find((e) => e.name === name);
  if (engine === undefined) throw new Error(`the engine catalog has no engine "${name}"`);
  return engine;
}
