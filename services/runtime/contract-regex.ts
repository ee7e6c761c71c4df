/**
 * The regex matcher the boundary validator hands to protovalidate for the
 * `string.pattern` rules of our contracts. protovalidate's default is a
 * JavaScript RE2 engine, which made pattern checks most of the cost of a
 * validation (docs/BENCHMARKS.md). Our patterns are constants from proto/,
 * written in the common subset of RE2 and ECMAScript syntax (anchored character
 * classes, no nested quantifiers, so matching stays linear), so the platform
 * RegExp gives the same verdicts, much faster. Engines in other languages use
 * their RE2 engines on the same patterns.
 */

const compiled = new Map<string, RegExp>();

/** Matches `against` with `pattern`, compiling each pattern once. */
export function contractRegexMatch(pattern: string, against: string): boolean {
  let regex = compiled.get(pattern);
  if (regex === undefined) {
    regex = new RegExp(pattern, "u");
    compiled.set(pattern, regex);
  }
  return regex.test(against);
}
