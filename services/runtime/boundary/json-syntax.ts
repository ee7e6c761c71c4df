/**
 * A strict check of a JSON text before it is parsed: exactly one RFC 8259
 * value, no member name twice in one object (JSON.parse would silently keep
 * the last), nesting within a bound. A failure says what went wrong in our own
 * words (never the JavaScript engine's, which change between versions), where
 * (the character offset) and under which member names, so the caller can name
 * the field: `{"envelope":` is a document truncated in the value of "envelope".
 */

/** Objects and arrays nested deeper than this are refused (no contract nests near it). */
export const MAX_JSON_DEPTH = 64;

/** Why a JSON text was refused. */
export interface JsonSyntaxFault {
  /** "truncated": the text ends inside a value; "json_syntax": a character that cannot be there; "duplicate_key"; "depth". */
  readonly ruleId: "truncated" | "json_syntax" | "duplicate_key" | "depth";
  /** The member names (and array indices) from the top to where it failed. */
  readonly keys: readonly (string | number)[];
  /** Character offset of the failure. */
  readonly offset: number;
  readonly message: string;
}

class Fault extends Error {
  constructor(readonly fault: JsonSyntaxFault) {
    super(fault.message);
  }
}

/** Checks `text`; undefined when it is one well-formed JSON value without duplicate member names. */
export function checkJsonText(text: string): JsonSyntaxFault | undefined {
  const scanner = new Scanner(text);
  try {
    scanner.value(0);
    scanner.ws();
    if (scanner.i < text.length) scanner.fail("json_syntax", "unexpected data after the JSON value");
    return undefined;
  } catch (e) {
    if (e instanceof Fault) return e.fault;
    throw e;
  }
}

class Scanner {
  i = 0;
  readonly keys: (string | number)[] = [];

  constructor(readonly s: string) {}

  fail(ruleId: JsonSyntaxFault["ruleId"], message: string): never {
    throw new Fault({ ruleId, keys: [...this.keys], offset: this.i, message: `${message} (at character ${this.i})` });
  }

  /** Fails as truncated when the text has ended. */
  more(what: string): void {
    if (this.i >= this.s.length) this.fail("truncated", `the JSON ends before ${what}`);
  }

  ws(): void {
    const s = this.s;
    while (this.i < s.length) {
      const c = s.charCodeAt(this.i);
      if (c !== 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return;
      this.i++;
    }
  }

  value(depth: number): void {
    this.ws();
    this.more("a value");
    const c = this.s[this.i]!;
    if (c === "{") this.object(depth + 1);
    else if (c === "[") this.array(depth + 1);
    else if (c === '"') this.string();
    else if (c === "t") this.literal("true");
    else if (c === "f") this.literal("false");
    else if (c === "n") this.literal("null");
    else if (c === "-" || (c >= "0" && c <= "9")) this.number();
    else this.fail("json_syntax", `unexpected character ${JSON.stringify(c)} where a value should start`);
  }

  object(depth: number): void {
    if (depth > MAX_JSON_DEPTH) this.fail("depth", `the JSON nests deeper than ${MAX_JSON_DEPTH} levels`);
    this.i++;
    this.ws();
    this.more("the object is closed");
    if (this.s[this.i] === "}") {
      this.i++;
      return;
    }
    const seen = new Set<string>();
    for (;;) {
      this.ws();
      this.more("a member name");
      if (this.s[this.i] !== '"') this.fail("json_syntax", "expected a member name in double quotes");
      const key = this.string();
      this.keys.push(key);
      if (seen.has(key)) this.fail("duplicate_key", `member "${key}" appears twice in one object`);
      seen.add(key);
      this.ws();
      this.more("the member's value");
      if (this.s[this.i] !== ":") this.fail("json_syntax", "expected ':' after a member name");
      this.i++;
      this.value(depth);
      this.keys.pop();
      this.ws();
      this.more("the object is closed");
      const c = this.s[this.i++];
      if (c === "}") return;
      if (c !== ",") {
        this.i--;
        this.fail("json_syntax", "expected ',' or '}' after a member");
      }
    }
  }

  array(depth: number): void {
    if (depth > MAX_JSON_DEPTH) this.fail("depth", `the JSON nests deeper than ${MAX_JSON_DEPTH} levels`);
    this.i++;
    this.ws();
    this.more("the array is closed");
    if (this.s[this.i] === "]") {
      this.i++;
      return;
    }
    for (let index = 0; ; index++) {
      this.keys.push(index);
      this.value(depth);
      this.keys.pop();
      this.ws();
      this.more("the array is closed");
      const c = this.s[this.i++];
      if (c === "]") return;
      if (c !== ",") {
        this.i--;
        this.fail("json_syntax", "expected ',' or ']' after an array item");
      }
    }
  }

  /** Scans a string token and returns its value. */
  string(): string {
    const s = this.s;
    const open = this.i++;
    let escaped = false;
    for (;;) {
      this.more("the string is closed");
      const c = s.charCodeAt(this.i);
      if (c === 0x22) break;
      if (c < 0x20) this.fail("json_syntax", "a control character must be escaped in a string");
      if (c === 0x5c) {
        escaped = true;
        this.i++;
        this.more("the escape sequence is complete");
        const e = s[this.i]!;
        if (e === "u") {
          for (let k = 1; k <= 4; k++) {
            this.i++;
            this.more("the escape sequence is complete");
            if (!/[0-9a-fA-F]/.test(s[this.i]!)) this.fail("json_syntax", "\\u must be followed by four hex digits");
          }
        } else if (!'"\\/bfnrt'.includes(e)) {
          this.fail("json_syntax", `invalid escape \\${e}`);
        }
      }
      this.i++;
    }
    this.i++;
    const raw = s.slice(open, this.i);
    return escaped ? (JSON.parse(raw) as string) : raw.slice(1, -1);
  }

  literal(word: string): void {
    const s = this.s;
    for (let k = 0; k < word.length; k++, this.i++) {
      this.more(`the literal ${word} is complete`);
      if (s[this.i] !== word[k]) this.fail("json_syntax", `invalid literal (expected ${word})`);
    }
  }

  number(): void {
    const s = this.s;
    if (s[this.i] === "-") this.i++;
    this.more("the number is complete");
    if (s[this.i] === "0") this.i++;
    else this.digits();
    if (s[this.i] === ".") {
      this.i++;
      this.digits();
    }
    if (s[this.i] === "e" || s[this.i] === "E") {
      this.i++;
      if (s[this.i] === "+" || s[this.i] === "-") this.i++;
      this.digits();
    }
  }

  /** One or more decimal digits. */
  digits(): void {
    this.more("the number is complete");
    const start = this.i;
    while (this.i < this.s.length && this.s[this.i]! >= "0" && this.s[this.i]! <= "9") this.i++;
    if (this.i === start) this.fail("json_syntax", "expected a digit in a number");
  }
}
