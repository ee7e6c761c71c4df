/**
 * Normalises a lookup question to the key the knowledge base is indexed by, so that
 * "Who wrote Hamlet?", "who is the author of hamlet" and "author of Hamlet" meet on one key:
 *   1. lower case, words split on whitespace, punctuation at word edges dropped;
 *   2. one question form rewritten to an attribute ("who wrote X" -> "author of X",
 *      "who painted X" -> "painter of X", "how tall/high is X" -> "height of X",
 *      "how long is X" -> "length of X");
 *   3. one leading question head dropped ("what is", "what's", "who is", "tell me about", ...);
 *   4. synonyms mapped ("writer" -> "author", "elevation" -> "height") and every "the" dropped.
 * Linear in the query; no regular expression with nested quantifiers.
 */

const EDGE = new Set([".", ",", ";", ":", "!", "?", '"', "'", "(", ")", "[", "]", "{", "}", "¿", "¡", "…"]);

const REWRITES: readonly (readonly [readonly string[], readonly string[]])[] = [
  [
    ["how", "tall", "is"],
    ["height", "of"],
  ],
  [
    ["how", "high", "is"],
    ["height", "of"],
  ],
  [
    ["how", "long", "is"],
    ["length", "of"],
  ],
  [
    ["who", "wrote"],
    ["author", "of"],
  ],
  [
    ["who", "authored"],
    ["author", "of"],
  ],
  [
    ["who", "painted"],
    ["painter", "of"],
  ],
];
const HEADS: readonly (readonly string[])[] = [
  ["tell", "me", "about"],
  ["what", "is"],
  ["what", "are"],
  ["what", "was"],
  ["who", "is"],
  ["who", "was"],
  ["tell", "me"],
  ["what's"],
  ["whats"],
  ["who's"],
];
const SYNONYMS: ReadonlyMap<string, string> = new Map([
  ["writer", "author"],
  ["elevation", "height"],
]);

/** Returns the knowledge-base key of a question or phrase; "" when nothing is left. */
export function normalizeLookupQuery(query: string): string {
  let words = query
    .replaceAll("’", "'")
    .toLowerCase()
    .split(/\s+/u)
    .map(trimEdges)
    .filter((word) => word !== "");
  const rewrite = REWRITES.find(([from]) => startsWith(words, from));
  if (rewrite !== undefined) {
    words = [...rewrite[1], ...words.slice(rewrite[0].length)];
  } else {
    const head = HEADS.find((phrase) => startsWith(words, phrase));
    if (head !== undefined) words = words.slice(head.length);
  }
  return words
    .map((word) => SYNONYMS.get(word) ?? word)
    .filter((word) => word !== "the")
    .join(" ");
}

function startsWith(words: readonly string[], phrase: readonly string[]): boolean {
  return phrase.length <= words.length && phrase.every((word, i) => words[i] === word);
}

function trimEdges(word: string): string {
  let start = 0;
  let end = word.length;
  while (start < end && EDGE.has(word[start]!)) start++;
  while (end > start && EDGE.has(word[end - 1]!)) end--;
  return word.slice(start, end);
}
