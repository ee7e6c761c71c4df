/**
 * Splits an utterance into words. Rules match on each word's `key` (NFKC, lower-case, edge
 * punctuation removed), so matching is case-, width- and whitespace-insensitive ("１２" reads as
 * "12"); extracted free text is rebuilt from `text` (the spelling as written, in NFC, so the NFC
 * and NFD forms of one utterance read the same), joined by single spaces. Everything here is
 * linear in the input.
 */

/** One word of an utterance. */
export interface Token {
  /** The word as written (curly apostrophes made straight). */
  readonly text: string;
  /** The word in lower case without leading or trailing punctuation; "" for pure punctuation. */
  readonly key: string;
}

// Punctuation dropped from the end of the utterance ("...?", "!!") and from the edges of keys.
const TRAILING = new Set([".", "?", "!", ",", ";", ":", "…"]);
const KEY_LEADING = new Set(['"', "'", "(", "[", "{", "¿", "¡", "“", "«"]);
const KEY_TRAILING = new Set([".", ",", ";", ":", "!", "?", '"', "'", ")", "]", "}", "…", "”", "»"]);

/** Splits an utterance into tokens; trailing sentence punctuation is dropped. */
export function tokenizeUtterance(utterance: string): Token[] {
  const words = utterance.normalize("NFC").replaceAll("’", "'").replaceAll("‘", "'").split(/\s+/u);
  const texts = words.filter((word) => word !== "");
  while (texts.length > 0) {
    const last = stripEnd(texts[texts.length - 1]!, TRAILING);
    if (last !== "") {
      texts[texts.length - 1] = last;
      break;
    }
    texts.pop();
  }
  return texts.map((text) => ({ text, key: keyOf(text.normalize("NFKC")) }));
}

/** Joins the original spelling of tokens with single spaces, dropping punctuation at the end. */
export function joinText(tokens: readonly Token[]): string {
  return stripEnd(tokens.map((token) => token.text).join(" "), TRAILING);
}

/** Joins the keys of tokens with single spaces, skipping empty keys. */
export function joinKeys(tokens: readonly Token[]): string {
  return tokens
    .map((token) => token.key)
    .filter((key) => key !== "")
    .join(" ");
}

/** Returns the length of the first phrase (a list of keys) found at `start`, or 0: list longer phrases first. */
export function matchPhrase(tokens: readonly Token[], start: number, phrases: readonly (readonly string[])[]): number {
  for (const phrase of phrases) {
    if (phrase.length === 0 || start + phrase.length > tokens.length) continue;
    if (phrase.every((word, i) => tokens[start + i]!.key === word)) return phrase.length;
  }
  return 0;
}

/** Whether the key of the token at `index` is one of `keys`. */
export function keyIn(tokens: readonly Token[], index: number, keys: ReadonlySet<string>): boolean {
  const token = tokens[index];
  return token !== undefined && keys.has(token.key);
}

function keyOf(text: string): string {
  let start = 0;
  let end = text.length;
  while (start < end && KEY_LEADING.has(text[start]!)) start++;
  while (end > start && KEY_TRAILING.has(text[end - 1]!)) end--;
  return text.slice(start, end).toLowerCase();
}

function stripEnd(text: string, chars: ReadonlySet<string>): string {
  let end = text.length;
  while (end > 0 && chars.has(text[end - 1]!)) end--;
  return text.slice(0, end);
}
