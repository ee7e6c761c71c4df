import { expect } from "chai";
import {
  MAX_SPIFFE_ID_BYTES,
  parseSpiffeId,
  parseSubjectAltName,
  singleSpiffeId,
  spiffeIdsFromSubjectAltName,
} from "../../../services/runtime/spiffe-id.js";
import { IDENTITIES, spiffeIdOf, TRUST_DOMAIN } from "../../../services/runtime/workload-identities.js";

const ROUTER = "spiffe://selene.local/ns/selene/sa/router";

// Strings as Node prints them in PeerCertificate.subjectaltname / X509Certificate.subjectAltName.
const ROUTER_SAN = `URI:${ROUTER}, DNS:localhost, DNS:router, DNS:router.selene.svc, IP Address:127.0.0.1`;
// One URI whose value embeds ", URI:<router id>": Node JSON-quotes it and escapes the comma.
const SMUGGLED_SAN = `DNS:localhost, URI:"spiffe://evil/x\\u002c URI:${ROUTER}"`;

describe("spiffe id", () => {
  describe("parseSpiffeId", () => {
    it("splits a valid id into trust domain, path and segments", () => {
      expect(parseSpiffeId(ROUTER)).to.deep.equal({
        uri: ROUTER,
        trustDomain: "selene.local",
        path: "/ns/selene/sa/router",
        segments: ["ns", "selene", "sa", "router"],
      });
    });

    it("accepts the spec's character sets", () => {
      expect(parseSpiffeId("spiffe://a_b-1.example/Mixed_Case-1.2")?.path).to.equal("/Mixed_Case-1.2");
    });

    for (const [why, uri] of [
      ["another scheme", "https://selene.local/ns/selene/sa/router"],
      ["an upper-case scheme", "SPIFFE://selene.local/ns/selene/sa/router"],
      ["an upper-case trust domain", "spiffe://Selene.local/ns/selene/sa/router"],
      ["no path", "spiffe://selene.local"],
      ["a bare slash path", "spiffe://selene.local/"],
      ["an empty trust domain", "spiffe:///ns/selene"],
      ["a trailing slash", `${ROUTER}/`],
      ["an empty segment", "spiffe://selene.local/ns//sa"],
      ["a dot segment", "spiffe://selene.local/ns/./sa"],
      ["a dot-dot segment", "spiffe://selene.local/ns/../sa"],
      ["a query", `${ROUTER}?x=1`],
      ["a fragment", `${ROUTER}#frag`],
      ["a port", "spiffe://selene.local:8443/ns/selene"],
      ["userinfo", "spiffe://user@selene.local/ns/selene"],
      ["percent-encoding", "spiffe://selene.local/ns/sel%65ne"],
      ["a non-ASCII segment", "spiffe://selene.local/ns/x/sa/\u00e9"],
      ["whitespace", ` ${ROUTER}`],
    ] as const) {
      it(`rejects an id with ${why}`, () => {
        expect(parseSpiffeId(uri)).to.equal(undefined);
      });
    }

    it("accepts an id of exactly the maximum length and rejects one byte more", () => {
      const prefix = "spiffe://selene.local/";
      const atLimit = prefix + "a".repeat(MAX_SPIFFE_ID_BYTES - prefix.length);
      expect(parseSpiffeId(atLimit)?.uri).to.equal(atLimit);
      expect(parseSpiffeId(`${atLimit}a`)).to.equal(undefined);
    });
  });

  describe("parseSubjectAltName", () => {
    it("splits Node's format into typed entries", () => {
      expect(parseSubjectAltName("DNS:localhost, URI:spiffe://a/b, IP Address:0:0:0:0:0:0:0:1")).to.deep.equal([
        { type: "DNS", value: "localhost" },
        { type: "URI", value: "spiffe://a/b" },
        { type: "IP Address", value: "0:0:0:0:0:0:0:1" },
      ]);
    });

    it("decodes a JSON-quoted value as one entry", () => {
      expect(parseSubjectAltName(`DirName:"O=b\\u002cCN=a", URI:"spiffe://a/\\"q\\"\\\\b"`)).to.deep.equal([
        { type: "DirName", value: "O=b,CN=a" },
        { type: "URI", value: 'spiffe://a/"q"\\b' },
      ]);
    });

    it("yields nothing for an absent or empty string", () => {
      expect(parseSubjectAltName(undefined)).to.deep.equal([]);
      expect(parseSubjectAltName("")).to.deep.equal([]);
    });

    for (const [why, san] of [
      ["an unterminated quote", `URI:"${ROUTER}`],
      ["text after a closing quote", `URI:"spiffe://a/b"x, URI:${ROUTER}`],
      ["an entry without a type", `:${ROUTER}`],
      ["a trailing separator", `URI:${ROUTER}, `],
      ["an invalid escape", `URI:"\\x41", URI:${ROUTER}`],
    ] as const) {
      it(`yields nothing for a string with ${why}`, () => {
        expect(parseSubjectAltName(san)).to.deep.equal([]);
      });
    }
  });

  describe("spiffeIdsFromSubjectAltName", () => {
    it("finds the SPIFFE id among other names", () => {
      expect(spiffeIdsFromSubjectAltName(ROUTER_SAN)).to.deep.equal([ROUTER]);
    });

    it("does not split a quoted URI that smuggles a second id", () => {
      expect(spiffeIdsFromSubjectAltName(SMUGGLED_SAN)).to.deep.equal([]);
    });

    it("ignores non-SPIFFE URIs and SPIFFE-looking DNS names", () => {
      expect(spiffeIdsFromSubjectAltName(`URI:https://selene.local/x, DNS:spiffe://selene.local/x`)).to.deep.equal([]);
    });

    it("returns every valid id when there are several", () => {
      const other = "spiffe://selene.local/ns/selene/sa/nlp";
      expect(spiffeIdsFromSubjectAltName(`URI:${ROUTER}, URI:${other}`)).to.deep.equal([ROUTER, other]);
    });
  });

  describe("singleSpiffeId", () => {
    it("returns the id of a certificate with exactly one URI SAN", () => {
      expect(singleSpiffeId(ROUTER_SAN)).to.equal(ROUTER);
    });

    it("returns undefined when a certificate carries two SPIFFE ids", () => {
      expect(singleSpiffeId(`URI:${ROUTER}, URI:spiffe://selene.local/ns/selene/sa/nlp`)).to.equal(undefined);
    });

    it("returns undefined when a second URI SAN is not a SPIFFE id", () => {
      expect(singleSpiffeId(`URI:${ROUTER}, URI:https://example.test/`)).to.equal(undefined);
    });

    it("returns undefined for a smuggled id, a missing SAN and a malformed SAN", () => {
      expect(singleSpiffeId(SMUGGLED_SAN)).to.equal(undefined);
      expect(singleSpiffeId(undefined)).to.equal(undefined);
      expect(singleSpiffeId("DNS:localhost")).to.equal(undefined);
      expect(singleSpiffeId(`URI:"${ROUTER}`)).to.equal(undefined);
    });
  });

  describe("workload identities", () => {
    it("gives every identity a valid SPIFFE id in the Selene trust domain", () => {
      for (const identity of IDENTITIES) {
        expect(parseSpiffeId(identity.spiffeId)?.trustDomain, identity.name).to.equal(TRUST_DOMAIN);
      }
      expect(new Set(IDENTITIES.map((i) => i.spiffeId)).size).to.equal(IDENTITIES.length);
    });

    it("maps names to their ids and throws for an unknown name", () => {
      expect(spiffeIdOf("router")).to.equal(ROUTER);
      expect(spiffeIdOf("demo-app")).to.equal("spiffe://selene.local/ns/clients/sa/demo-app");
      expect(spiffeIdOf("operator")).to.equal("spiffe://selene.local/ns/operators/sa/operator");
      expect(() => spiffeIdOf("mallory")).to.throw(/unknown workload identity/);
    });

    it("freezes the table", () => {
      expect(Object.isFrozen(IDENTITIES)).to.equal(true);
      expect(Object.isFrozen(IDENTITIES[0])).to.equal(true);
    });
  });
});
