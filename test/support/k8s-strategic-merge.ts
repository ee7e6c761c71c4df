/**
 * The subset of kustomize's strategic-merge patching that the overlays in k8s/ use: maps merge
 * recursively, `null` deletes a key, lists of containers, init containers, env vars and volumes merge
 * element by element on `name` (built-in kinds only), and every other list is replaced. Patch
 * directives ($patch, $retainKeys, ...) are refused rather than misapplied.
 */

/** A JSON-like value as parsed from YAML. */
export type Json = string | number | boolean | null | Json[] | { [key: string]: Json };

// Lists that the Kubernetes schemas declare with merge key `name` and that an overlay may patch.
const NAME_KEYED_LISTS = new Set(["containers", "initContainers", "env", "volumes"]);

/**
 * Applies `patch` to `target` and returns the result, leaving both untouched. `keyedLists` is false for
 * custom resources, which kustomize patches with JSON merge-patch semantics (lists are replaced).
 */
export function strategicMerge(target: Json, patch: Json, keyedLists: boolean): Json {
  return mergeValue(target, patch, keyedLists, "");
}

function mergeValue(target: Json | undefined, patch: Json, keyedLists: boolean, key: string): Json {
  if (isMap(patch)) {
    return mergeMaps(isMap(target) ? target : {}, patch, keyedLists);
  }
  if (Array.isArray(patch) && Array.isArray(target) && keyedLists && NAME_KEYED_LISTS.has(key)) {
    return mergeNamedLists(target, patch, keyedLists);
  }
  return structuredClone(patch);
}

function mergeMaps(target: { [key: string]: Json }, patch: { [key: string]: Json }, keyedLists: boolean) {
  const result: { [key: string]: Json } = structuredClone(target);
  for (const [key, value] of Object.entries(patch)) {
    if (key.startsWith("$")) throw new Error(`unsupported strategic-merge directive ${key}`);
    if (value === null) {
      delete result[key];
    } else {
      result[key] = mergeValue(result[key], value, keyedLists, key);
    }
  }
  return result;
}

function mergeNamedLists(target: Json[], patch: Json[], keyedLists: boolean): Json[] {
  const result = structuredClone(target);
  for (const item of patch) {
    const name = isMap(item) ? item.name : undefined;
    if (typeof name !== "string") throw new Error("a patched list element needs a name");
    const index = result.findIndex((existing) => isMap(existing) && existing.name === name);
    if (index === -1) {
      result.push(structuredClone(item));
    } else {
      result[index] = mergeValue(result[index], item, keyedLists, "");
    }
  }
  return result;
}

/** Whether a value is a YAML mapping. */
export function isMap(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
