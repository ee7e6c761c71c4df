import { AssertionError, expect } from "chai";
import { allowedEdges, reachableFrom } from "../../support/k8s-edges.js";
import { ENGINES, findObject, KUSTOMIZATIONS, renderMesh, UNDEPLOYED, WORKLOADS } from "../../support/k8s-mesh.js";
import {
  type ClusterModel,
  connectionAllowed,
  isIsolated,
  type NetworkPolicyObject,
  type PodModel,
} from "../../support/k8s-network-policy.js";
import { networkPoliciesOf, podsFromManifests } from "../../support/k8s-pod-model.js";
import type { Manifest } from "../../support/kubectl-kustomize.js";

// Every workload the policies cover: the deployed ones and governance, rendered here with its component.
const MEDIATED = [...WORKLOADS, ...UNDEPLOYED];

// Who may open a gRPC (7443) connection to whom. A change here is a change of the mediation design.
const EXPECTED_GRPC_EDGES = [
  "calc->audit",
  "client->router",
  "governance->audit",
  "ingress-nginx->router",
  "nlp->audit",
  "outbox->audit",
  "reminders->audit",
  "router->audit",
  "router->calc",
  "router->governance",
  "router->nlp",
  "router->outbox",
  "router->reminders",
  "router->tools",
  "toolbox->audit",
  "toolbox->governance",
  "toolbox->outbox",
  "tools->audit",
];
const EXPECTED_CONNECT_EDGES = ["client->router", "ingress-nginx->router"];
const EXPECTED_POSTGRES_EDGES = [
  "audit->postgres",
  "governance->postgres",
  "migrations->postgres",
  "outbox->postgres",
  "postgres->postgres",
  "reminders->postgres",
  "router->postgres",
  "toolbox->postgres",
];

// Pods the manifests do not deploy but the policies must account for.
const PRETEND_PODS: PodModel[] = [
  { name: "client", namespace: "apps", labels: { "selene.io/role": "client" }, ports: {} },
  // An unlabelled pod started in the namespace, serving on the gRPC port: nothing may reach it.
  { name: "stranger", namespace: "selene", labels: {}, ports: { grpc: 7443 } },
  { name: "outsider", namespace: "apps", labels: {}, ports: {} },
  {
    name: "ingress-nginx",
    namespace: "ingress-nginx",
    labels: { "app.kubernetes.io/name": "ingress-nginx" },
    ports: {},
  },
  { name: "kube-dns", namespace: "kube-system", labels: { "k8s-app": "kube-dns" }, ports: { dns: 53 } },
  { name: "prometheus", namespace: "monitoring", labels: { "app.kubernetes.io/name": "prometheus" }, ports: {} },
  // Another pod of the monitoring namespace, which is no scraper.
  { name: "grafana", namespace: "monitoring", labels: { "app.kubernetes.io/name": "grafana" }, ports: {} },
];

function clusterOf(objects: readonly Manifest[]): ClusterModel {
  return {
    pods: [...podsFromManifests(objects), ...PRETEND_PODS],
    namespaces: {
      selene: findObject(objects, "Namespace", "selene").metadata.labels ?? {},
      apps: {},
      "ingress-nginx": {},
      "kube-system": {},
      monitoring: { "kubernetes.io/metadata.name": "monitoring" },
    },
  };
}

function pod(cluster: ClusterModel, name: string): PodModel {
  const found = cluster.pods.find((candidate) => candidate.name === name);
  if (found === undefined) throw new Error(`no pod ${name}`);
  return found;
}

function sourcesOf(edges: string[], destination: string): string[] {
  return edges.filter((edge) => edge.endsWith(`->${destination}`)).map((edge) => edge.split("->")[0]!);
}

describe("k8s network mediation", () => {
  for (const which of Object.keys(KUSTOMIZATIONS) as (keyof typeof KUSTOMIZATIONS)[]) {
    describe(`${which} build`, () => {
      // With the governance component, as an overlay will add it: the policies already cover it.
      const objects = renderMesh(which, ["governance"]);
      const policies = networkPoliciesOf(objects);
      const cluster = clusterOf(objects);
      const grpcEdges = allowedEdges(policies, cluster, "grpc");

      it("allows exactly the expected gRPC edges", () => {
        expect(grpcEdges).to.deep.equal(EXPECTED_GRPC_EDGES);
      });

      it("isolates every pod of the namespace for ingress and egress", () => {
        for (const member of cluster.pods.filter((candidate) => candidate.namespace === "selene")) {
          expect(isIsolated(policies, member, "Ingress"), member.name).to.equal(true);
          expect(isIsolated(policies, member, "Egress"), member.name).to.equal(true);
        }
      });

      it("lets only the router reach each engine, and the router reach every engine", () => {
        for (const engine of ENGINES) expect(sourcesOf(grpcEdges, engine), engine).to.deep.equal(["router"]);
      });

      it("lets no engine reach anything but DNS and the audit ledger, and reminders also Postgres", () => {
        for (const engine of ENGINES) {
          const base = ["dns:kube-dns", "grpc:audit"];
          const expected = engine === "reminders" ? [...base, "postgresql:postgres"] : base;
          expect(reachableFrom(policies, cluster, pod(cluster, engine)), engine).to.deep.equal(expected);
        }
      });

      it("lets only the router and the operator toolbox (dead letters) reach the outbox", () => {
        expect(sourcesOf(grpcEdges, "outbox")).to.deep.equal(["router", "toolbox"]);
      });

      it("lets the migrations Job reach Postgres and nothing else", () => {
        expect(reachableFrom(policies, cluster, pod(cluster, "migrations"))).to.deep.equal([
          "dns:kube-dns",
          "postgresql:postgres",
        ]);
      });

      it("lets an unlabelled pod reach no service port, inside or outside the namespace", () => {
        expect(reachableFrom(policies, cluster, pod(cluster, "stranger"))).to.deep.equal(["dns:kube-dns"]);
        // Outside the namespace nothing restricts its egress, so it reaches what is open to all: health.
        const outsider = reachableFrom(policies, cluster, pod(cluster, "outsider"));
        expect(outsider).to.deep.equal(["dns:kube-dns", ...MEDIATED.map((name) => `health:${name}`).sort()]);
      });

      it("admits Connect/JSON only from clients and the ingress controller", () => {
        expect(allowedEdges(policies, cluster, "connect")).to.deep.equal(EXPECTED_CONNECT_EDGES);
      });

      it("admits Postgres connections only from the schema owners, the migrations, the toolbox and the other instances", () => {
        expect(allowedEdges(policies, cluster, "postgresql")).to.deep.equal(EXPECTED_POSTGRES_EDGES);
      });

      it("keeps the health port open to ingress from anywhere, for kubelet probes", () => {
        for (const name of MEDIATED) {
          const connection = { from: pod(cluster, "outsider"), to: pod(cluster, name), port: 7080 };
          expect(connectionAllowed(policies, cluster, connection), name).to.equal(true);
        }
      });

      it("admits metrics scrapes only from Prometheus in the monitoring namespace, to the metrics port only", () => {
        expect(allowedEdges(policies, cluster, "metrics")).to.deep.equal(
          MEDIATED.map((name) => `prometheus->${name}`).sort(),
        );
        const prometheus = reachableFrom(policies, cluster, pod(cluster, "prometheus"));
        expect(prometheus.filter((edge) => !edge.startsWith("health:") && !edge.startsWith("dns:"))).to.deep.equal(
          MEDIATED.map((name) => `metrics:${name}`).sort(),
        );
        for (const name of MEDIATED) {
          for (const from of ["grafana", "outsider", "stranger", "router"]) {
            const connection = { from: pod(cluster, from), to: pod(cluster, name), port: 9464 };
            expect(connectionAllowed(policies, cluster, connection), `${from}->${name}`).to.equal(false);
          }
        }
      });

      it("lets every pod of the namespace resolve names over UDP", () => {
        for (const name of [...MEDIATED, "postgres", "toolbox", "migrations", "stranger"]) {
          const connection = { from: pod(cluster, name), to: pod(cluster, "kube-dns"), port: 53, protocol: "UDP" };
          expect(connectionAllowed(policies, cluster, connection), name).to.equal(true);
        }
      });
    });
  }

  describe("a loosened policy", () => {
    const objects = renderMesh("prod", ["governance"]);
    const cluster = clusterOf(objects);

    function withExtraPolicy(policy: NetworkPolicyObject): string[] {
      return allowedEdges([...networkPoliciesOf(structuredClone(objects)), policy], cluster, "grpc");
    }

    it("is reported when it lets one engine call another", () => {
      const nlpToTools: NetworkPolicyObject = {
        kind: "NetworkPolicy",
        metadata: { name: "nlp-to-tools", namespace: "selene" },
        spec: {
          podSelector: {
            matchExpressions: [{ key: "app.kubernetes.io/name", operator: "In", values: ["nlp", "tools"] }],
          },
          policyTypes: ["Ingress", "Egress"],
          ingress: [{ from: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "nlp" } } }] }],
          egress: [{ to: [{ podSelector: { matchLabels: { "app.kubernetes.io/name": "tools" } } }] }],
        },
      };
      const edges = withExtraPolicy(nlpToTools);
      expect(edges).to.deep.equal([...EXPECTED_GRPC_EDGES, "nlp->tools"].sort());
      expect(() => expect(edges).to.deep.equal(EXPECTED_GRPC_EDGES)).to.throw(AssertionError);
    });

    it("is reported when it opens the router to every namespace", () => {
      const openRouter: NetworkPolicyObject = {
        kind: "NetworkPolicy",
        metadata: { name: "router-open", namespace: "selene" },
        spec: {
          podSelector: { matchLabels: { "app.kubernetes.io/name": "router" } },
          ingress: [{ from: [{ namespaceSelector: {} }], ports: [{ port: "grpc" }] }],
        },
      };
      const edges = withExtraPolicy(openRouter);
      expect(edges).to.include("outsider->router");
      expect(() => expect(edges).to.deep.equal(EXPECTED_GRPC_EDGES)).to.throw(AssertionError);
    });
  });
});
