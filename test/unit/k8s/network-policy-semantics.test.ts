import { expect } from "chai";
import { aPod, aPolicy, app } from "../../support/k8s-builders.js";
import { selectorMatches } from "../../support/k8s-label-selector.js";
import {
  type ClusterModel,
  type Connection,
  connectionAllowed,
  isIsolated,
  type NetworkPolicyObject,
} from "../../support/k8s-network-policy.js";

const a = aPod({ name: "a", labels: { "app.kubernetes.io/name": "a", tier: "front" } });
const b = aPod({ name: "b", labels: { "app.kubernetes.io/name": "b" }, ports: { grpc: 7443, health: 7080 } });
const elsewhere = aPod({ name: "elsewhere", namespace: "other", labels: { "app.kubernetes.io/name": "a" } });
const cluster: ClusterModel = { pods: [a, b, elsewhere], namespaces: { selene: {}, other: { team: "blue" } } };
const aToB: Connection = { from: a, to: b, port: 7443 };
const denyAll = aPolicy({}, { policyTypes: ["Ingress", "Egress"] }, "deny-all");

function allowed(policies: NetworkPolicyObject[], connection: Connection = aToB): boolean {
  return connectionAllowed(policies, cluster, connection);
}

describe("network policy semantics", () => {
  describe("isolation", () => {
    it("allows everything when no policy selects either pod", () => {
      expect(allowed([])).to.equal(true);
      expect(allowed([aPolicy(app("nobody"), { policyTypes: ["Ingress", "Egress"] })])).to.equal(true);
    });

    it("isolates for egress only when Egress is listed or defaulted from an egress field", () => {
      expect(isIsolated([aPolicy(app("a"))], a, "Egress")).to.equal(false);
      expect(isIsolated([aPolicy(app("a"))], a, "Ingress")).to.equal(true);
      expect(isIsolated([aPolicy(app("a"), { egress: [] })], a, "Egress")).to.equal(true);
      expect(isIsolated([aPolicy(app("a"), { policyTypes: ["Egress"] })], a, "Ingress")).to.equal(false);
    });

    it("selects only pods of the policy's own namespace", () => {
      const policy = aPolicy(app("a"), { policyTypes: ["Ingress"] });
      expect(isIsolated([policy], a, "Ingress")).to.equal(true);
      expect(isIsolated([policy], elsewhere, "Ingress")).to.equal(false);
    });
  });

  describe("both ends", () => {
    const bAdmitsA = aPolicy(app("b"), { ingress: [{ from: [{ podSelector: app("a") }] }] }, "b-in");
    const aMayCallB = aPolicy(app("a"), { egress: [{ to: [{ podSelector: app("b") }] }] }, "a-out");

    it("needs the destination's ingress and the source's egress to allow a connection", () => {
      expect(allowed([denyAll])).to.equal(false);
      expect(allowed([denyAll, bAdmitsA])).to.equal(false);
      expect(allowed([denyAll, aMayCallB])).to.equal(false);
      expect(allowed([denyAll, bAdmitsA, aMayCallB])).to.equal(true);
    });

    it("is directional", () => {
      expect(allowed([denyAll, bAdmitsA, aMayCallB], { from: b, to: a, port: 7443 })).to.equal(false);
    });

    it("denies all ingress with an empty rule list and allows all with one empty rule", () => {
      expect(allowed([aPolicy(app("b"), { ingress: [] })])).to.equal(false);
      expect(allowed([aPolicy(app("b"), { ingress: [{}] })])).to.equal(true);
    });
  });

  describe("peers", () => {
    const bAdmits = (peer: object) => [aPolicy(app("b"), { ingress: [{ from: [peer] }] })];
    const fromElsewhere: Connection = { from: elsewhere, to: b, port: 7443 };

    it("reads a podSelector alone as pods of the policy's namespace", () => {
      expect(allowed(bAdmits({ podSelector: app("a") }))).to.equal(true);
      expect(allowed(bAdmits({ podSelector: app("a") }), fromElsewhere)).to.equal(false);
    });

    it("reads a namespaceSelector alone as every pod of the matching namespaces", () => {
      expect(allowed(bAdmits({ namespaceSelector: { matchLabels: { team: "blue" } } }), fromElsewhere)).to.equal(true);
      expect(allowed(bAdmits({ namespaceSelector: { matchLabels: { team: "blue" } } }))).to.equal(false);
      const byName = { namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "other" } } };
      expect(allowed(bAdmits(byName), fromElsewhere)).to.equal(true);
    });

    it("reads both selectors in one peer as their intersection", () => {
      const peer = { namespaceSelector: {}, podSelector: { matchLabels: { tier: "front" } } };
      expect(allowed(bAdmits(peer))).to.equal(true);
      expect(allowed(bAdmits(peer), fromElsewhere)).to.equal(false);
    });

    it("counts an ipBlock as matching any pod, so it can only over-report", () => {
      expect(allowed(bAdmits({ ipBlock: { cidr: "10.0.0.0/8" } }), fromElsewhere)).to.equal(true);
    });
  });

  describe("ports", () => {
    const bAdmitsOn = (ports: object[]) => [aPolicy(app("b"), { ingress: [{ ports }] })];

    it("matches a named port against the destination's container ports", () => {
      expect(allowed(bAdmitsOn([{ port: "grpc" }]))).to.equal(true);
      expect(allowed(bAdmitsOn([{ port: "health" }]))).to.equal(false);
      expect(allowed(bAdmitsOn([{ port: "missing" }]))).to.equal(false);
    });

    it("matches numbers, ranges and protocols", () => {
      expect(allowed(bAdmitsOn([{ port: 7443 }]))).to.equal(true);
      expect(allowed(bAdmitsOn([{ port: 7000, endPort: 7500 }]))).to.equal(true);
      expect(allowed(bAdmitsOn([{ port: 7000, endPort: 7100 }]))).to.equal(false);
      expect(allowed(bAdmitsOn([{ port: 7443, protocol: "UDP" }]))).to.equal(false);
      expect(allowed(bAdmitsOn([{ protocol: "TCP" }]))).to.equal(true);
    });
  });

  describe("label selectors", () => {
    const labels = { app: "x", tier: "front" };

    it("matches everything with an empty selector and needs every matchLabels pair", () => {
      expect(selectorMatches({}, labels)).to.equal(true);
      expect(selectorMatches({ matchLabels: { app: "x", tier: "front" } }, labels)).to.equal(true);
      expect(selectorMatches({ matchLabels: { app: "x", tier: "back" } }, labels)).to.equal(false);
    });

    it("implements In, NotIn, Exists and DoesNotExist as Kubernetes does", () => {
      const one = (operator: "In" | "NotIn" | "Exists" | "DoesNotExist", key: string, values?: string[]) =>
        selectorMatches({ matchExpressions: [{ key, operator, ...(values ? { values } : {}) }] }, labels);
      expect(one("In", "app", ["x", "y"])).to.equal(true);
      expect(one("In", "missing", ["x"])).to.equal(false);
      expect(one("NotIn", "app", ["x"])).to.equal(false);
      expect(one("NotIn", "missing", ["x"])).to.equal(true);
      expect(one("Exists", "tier")).to.equal(true);
      expect(one("Exists", "missing")).to.equal(false);
      expect(one("DoesNotExist", "missing")).to.equal(true);
      expect(one("DoesNotExist", "app")).to.equal(false);
    });

    it("refuses an operator it does not know", () => {
      const bad = { matchExpressions: [{ key: "app", operator: "Gt" as "In", values: ["1"] }] };
      expect(() => selectorMatches(bad, labels)).to.throw("unsupported label selector operator");
    });
  });
});
