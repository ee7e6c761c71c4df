import { expect } from "chai";
import { CanonicalJsonError, canonicalJson, sha256Digest } from "../../../services/runtime/content-digest.js";

function errorCodeOf(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return error instanceof CanonicalJsonError ? error.code : "NOT_A_CANONICAL_JSON_ERROR";
  }
  return undefined;
}

describe("content digest", () => {
  describe("canonicalJson", () => {
    it("sorts object keys at every depth and keeps array order", () => {
      const value = { b: 1, a: { d: [3, 1, 2], c: { z: true, y: null } } };
      expect(canonicalJson(value)).to.equal('{"a":{"c":{"y":null,"z":true},"d":[3,1,2]},"b":1}');
    });

    it("gives the same text whatever the key insertion order", () => {
      const first = { text: "hi", data: { x: "1", y: "2" } };
      const second = { data: { y: "2", x: "1" }, text: "hi" };
      expect(canonicalJson(first)).to.equal(canonicalJson(second));
    });

    it("sorts keys by UTF-16 code units", () => {
      expect(canonicalJson({ é: 1, z: 2, Z: 3, a: 4, "\u{1F600}": 5, "\uFF5E": 6 })).to.equal(
        '{"Z":3,"a":4,"z":2,"é":1,"\u{1F600}":5,"\uFF5E":6}',
      );
    });

    it("omits object properties whose value is undefined", () => {
      expect(canonicalJson({ a: undefined, b: 2 })).to.equal('{"b":2}');
    });

    for (const [value, text] of [
      [-0, "0"],
      [1e21, "1e+21"],
      [0.1 + 0.2, "0.30000000000000004"],
      ['quote" and \\ and \n', '"quote\\" and \\\\ and \\n"'],
      [[], "[]"],
      [{}, "{}"],
      [null, "null"],
      [false, "false"],
    ] as const) {
      it(`encodes ${JSON.stringify(value)} as ${text} when it is a scalar or an empty container`, () => {
        expect(canonicalJson(value)).to.equal(text);
      });
    }

    it("accepts the same object twice when it is not a cycle", () => {
      const shared = { k: 1 };
      expect(canonicalJson({ a: shared, b: [shared] })).to.equal('{"a":{"k":1},"b":[{"k":1}]}');
    });

    it("accepts objects without a prototype", () => {
      const bare = Object.create(null) as Record<string, number>;
      bare.b = 2;
      bare.a = 1;
      expect(canonicalJson(bare)).to.equal('{"a":1,"b":2}');
    });

    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const [why, value, code, path] of [
      ["NaN", { a: Number.NaN }, "NON_FINITE_NUMBER", "/a"],
      ["Infinity", [1, Number.POSITIVE_INFINITY], "NON_FINITE_NUMBER", "/1"],
      ["-Infinity at the root", Number.NEGATIVE_INFINITY, "NON_FINITE_NUMBER", ""],
      ["undefined in an array", { list: [1, undefined] }, "UNDEFINED_IN_ARRAY", "/list/1"],
      ["undefined at the root", undefined, "UNSUPPORTED_TYPE", ""],
      ["a bigint", { n: 1n }, "UNSUPPORTED_TYPE", "/n"],
      ["a function", { f: () => 1 }, "UNSUPPORTED_TYPE", "/f"],
      ["a symbol", { s: Symbol("x") }, "UNSUPPORTED_TYPE", "/s"],
      ["a Date", { d: new Date(0) }, "UNSUPPORTED_TYPE", "/d"],
      ["a Map", { m: new Map() }, "UNSUPPORTED_TYPE", "/m"],
      ["a Uint8Array", { u: new Uint8Array(1) }, "UNSUPPORTED_TYPE", "/u"],
      ["a cycle", cyclic, "CYCLE", "/self"],
    ] as const) {
      it(`rejects ${why} with ${code}`, () => {
        expect(errorCodeOf(() => canonicalJson(value))).to.equal(code);
        try {
          canonicalJson(value);
        } catch (error) {
          expect((error as CanonicalJsonError).path).to.equal(path);
        }
      });
    }
  });

  describe("sha256Digest", () => {
    it("returns the known digest of the empty string", () => {
      expect(sha256Digest("")).to.equal("sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    });

    it("returns the known digest of abc", () => {
      expect(sha256Digest("abc")).to.equal("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    });

    it("hashes a string as its UTF-8 bytes", () => {
      expect(sha256Digest("é✓")).to.equal(sha256Digest(new TextEncoder().encode("é✓")));
      expect(sha256Digest("é")).to.not.equal(sha256Digest(new Uint8Array([0xe9])));
    });

    it("has the shape the contracts require", () => {
      expect(sha256Digest(canonicalJson({ text: "x", data: {} }))).to.match(/^sha256:[0-9a-f]{64}$/);
    });

    it("differs when one value in the canonical content differs", () => {
      const a = sha256Digest(canonicalJson({ text: "x", data: { v: "1" } }));
      const b = sha256Digest(canonicalJson({ data: { v: "1" }, text: "x" }));
      const c = sha256Digest(canonicalJson({ text: "x", data: { v: "2" } }));
      expect(a).to.equal(b);
      expect(a).to.not.equal(c);
    });
  });
});
