/**
 * The line of a policy file a fault's place is on, so an error names it as an editor shows it.
 * A place is a JSON path as the policy checks write it: `.engines[3].capabilities[0].name`, or
 * `policy.capabilities["tools.lookup"].retry` (the resilience policy calls its root `policy`). A
 * place that is not in the file (a field that must be set) is on the line of its nearest parent.
 */
import { findNodeAtLocation, type JSONPath, parseTree } from "jsonc-parser";

const SEGMENT = /\.?([A-Za-z_$][\w$-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;

/** The segments of a place; undefined when it is not one. */
export function placeSegments(place: string): JSONPath | undefined {
  const segments: JSONPath = [];
  SEGMENT.lastIndex = 0;
  while (SEGMENT.lastIndex < place.length) {
    const match = SEGMENT.exec(place);
    if (match === null) return undefined;
    const [, key, index, quoted] = match;
    segments.push(key ?? (index !== undefined ? Number(index) : (JSON.parse(quoted!) as string)));
  }
  return segments;
}

/** The 1-based line of `place` in the JSON `text`; undefined when the text is not JSON or the place not a path. */
export function lineOf(text: string, place: string): number | undefined {
  const root = parseTree(text);
  let path = placeSegments(place);
  if (root === undefined || path === undefined) return undefined;
  // A root named in the place but not in the file (the resilience policy's `policy`).
  if (path[0] === "policy" && findNodeAtLocation(root, ["policy"]) === undefined) path = path.slice(1);
  for (;;) {
    const node = findNodeAtLocation(root, path);
    if (node !== undefined) return text.slice(0, node.offset).split("\n").length;
    if (path.length === 0) return undefined;
    path = path.slice(0, -1);
  }
}
