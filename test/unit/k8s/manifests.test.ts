import { expect } from "chai";
import type { IService } from "kubernetes-models/v1/Service";
import { addressVariable, metricsAddressVariable } from "../../../services/runtime/service-config.js";
import { pkiFiles } from "../../../services/runtime/tls-credentials.js";
import { spiffeIdOf, WORKLOAD_NAMES } from "../../../services/runtime/workload-identities.js";
import {
  ENGINES,
  findDeployment,
  findObject,
  KUSTOMIZATIONS,
  podTemplates,
  renderMesh,
  SCHEMA_OWNERS,
  UNDEPLOYED,
  WORKLOADS,
} from "../../support/k8s-mesh.js";
import { parseQuantity } from "../../support/k8s-quantity.js";
import { validateManifest } from "../../support/k8s-validate.js";
import type { Manifest } from "../../support/kubectl-kustomize.js";

const PKI_DIR = "/var/run/selene/pki";

describe("k8s manifests", () => {
  for (const which of Object.keys(KUSTOMIZATIONS) as (keyof typeof KUSTOMIZATIONS)[]) {
    describe(`${which} build`, () => {
      const objects = renderMesh(which);

      it("validates every object against its schema", () => {
        expect(objects.flatMap(validateManifest)).to.deep.equal([]);
      });

      it("puts every namespaced object in selene and labels everything part of selene-os", () => {
        for (const object of objects) {
          if (object.kind !== "Namespace") expect(object.metadata.namespace, object.kind).to.equal("selene");
          expect(object.metadata.labels?.["app.kubernetes.io/part-of"]).to.equal("selene-os");
        }
      });

      it("deploys exactly the workloads of the runtime's identity table, under the same SPIFFE ids", () => {
        expect([...WORKLOADS, ...UNDEPLOYED].sort()).to.deep.equal([...WORKLOAD_NAMES].sort());
        for (const name of WORKLOADS) {
          const spec = findObject(objects, "Certificate", name).spec as { uris: string[] };
          expect(spec.uris).to.deep.equal([spiffeIdOf(name)]);
        }
      });

      it("gives every workload its Deployment, Service, ServiceAccount, Certificate and disruption budget", () => {
        for (const name of WORKLOADS) {
          for (const kind of ["Deployment", "Service", "ServiceAccount", "Certificate", "PodDisruptionBudget"]) {
            expect(() => findObject(objects, kind, name), `${kind}/${name}`).not.to.throw();
          }
          expect(findObject(objects, "ServiceAccount", name).automountServiceAccountToken).to.equal(false);
          const pdb = findObject(objects, "PodDisruptionBudget", name).spec as Record<string, unknown>;
          expect(pdb).to.deep.equal({ minAvailable: 1, selector: { matchLabels: { "app.kubernetes.io/name": name } } });
        }
      });

      it("runs each workload as its own ServiceAccount, selecting its own pods, without an API token", () => {
        for (const name of WORKLOADS) {
          const spec = findDeployment(objects, name).spec!;
          expect(spec.selector.matchLabels).to.deep.equal({ "app.kubernetes.io/name": name });
          expect(spec.template.metadata?.labels).to.include({ "app.kubernetes.io/name": name });
          expect(spec.template.spec?.serviceAccountName).to.equal(name);
          expect(spec.template.spec?.automountServiceAccountToken).to.equal(false);
        }
      });

      it("probes every container with grpc startup, readiness and liveness probes on the health port", () => {
        for (const name of WORKLOADS) {
          for (const container of findDeployment(objects, name).spec!.template.spec!.containers) {
            expect(container.ports).to.deep.include({ name: "health", containerPort: 7080, protocol: "TCP" });
            for (const probe of [container.startupProbe, container.readinessProbe, container.livenessProbe]) {
              expect(probe?.grpc?.port, `${name} probe`).to.equal(7080);
              expect(probe?.httpGet ?? probe?.tcpSocket ?? probe?.exec).to.equal(undefined);
            }
          }
        }
      });

      it("runs every container non-root, read-only, without privilege escalation or capabilities", () => {
        for (const { name, spec: pod } of podTemplates(objects)) {
          expect(pod.securityContext, name).to.include({ runAsNonRoot: true, runAsUser: 10001 });
          expect(pod.securityContext?.seccompProfile?.type).to.equal("RuntimeDefault");
          expect(pod.automountServiceAccountToken, name).to.equal(false);
          for (const container of [...(pod.initContainers ?? []), ...pod.containers]) {
            const context = container.securityContext;
            expect(context, name).to.include({
              runAsNonRoot: true,
              runAsUser: 10001,
              readOnlyRootFilesystem: true,
              allowPrivilegeEscalation: false,
            });
            expect(context?.capabilities?.drop).to.deep.equal(["ALL"]);
            expect(context?.capabilities?.add).to.equal(undefined);
            expect(context?.seccompProfile?.type).to.equal("RuntimeDefault");
          }
        }
      });

      it("sets CPU and memory requests and limits, requests no larger than limits", () => {
        for (const { name, spec } of podTemplates(objects)) {
          for (const container of [...(spec.initContainers ?? []), ...spec.containers]) {
            const { requests, limits } = container.resources ?? {};
            for (const resource of ["cpu", "memory"]) {
              const request = requests?.[resource];
              const limit = limits?.[resource];
              expect(request, `${name} ${resource} request`).not.to.equal(undefined);
              expect(limit, `${name} ${resource} limit`).not.to.equal(undefined);
              expect(parseQuantity(request!)).to.be.at.most(parseQuantity(limit!));
            }
          }
        }
      });

      it("exposes in each Service exactly the container ports, on the same numbers", () => {
        for (const name of WORKLOADS) {
          const service = findObject(objects, "Service", name) as unknown as IService;
          const template = findDeployment(objects, name).spec!.template;
          expect(template.metadata?.labels).to.include(service.spec?.selector);
          const containerPorts = template.spec!.containers.flatMap((container) => container.ports ?? []);
          const servicePorts = service.spec?.ports ?? [];
          expect(servicePorts.map((port) => port.name).sort()).to.deep.equal(
            containerPorts.map((port) => port.name).sort(),
          );
          for (const port of servicePorts) {
            const target = containerPorts.find((candidate) =>
              typeof port.targetPort === "string"
                ? candidate.name === port.targetPort
                : candidate.containerPort === (port.targetPort ?? port.port),
            );
            expect(target?.containerPort, `${name} ${port.name}`).to.equal(port.port);
          }
        }
      });

      it("exposes every workload on grpc 7443, health 7080 and metrics 9464, the router also on connect 8443", () => {
        for (const name of WORKLOADS) {
          const ports = findDeployment(objects, name).spec!.template.spec!.containers[0]!.ports ?? [];
          const expected = ["grpc:7443", ...(name === "router" ? ["connect:8443"] : []), "health:7080", "metrics:9464"];
          expect(ports.map((port) => `${port.name}:${port.containerPort}`)).to.deep.equal(expected);
        }
      });

      it("binds each metrics port on all interfaces and marks the pod for scraping on it", () => {
        for (const name of WORKLOADS) {
          const template = findDeployment(objects, name).spec!.template;
          const env = template.spec!.containers[0]!.env ?? [];
          expect(env, name).to.deep.include({ name: metricsAddressVariable(name), value: "0.0.0.0:9464" });
          expect(template.metadata?.annotations, name).to.deep.equal({
            "prometheus.io/scrape": "true",
            "prometheus.io/port": "9464",
            "prometheus.io/path": "/metrics",
          });
        }
      });

      it("listens on every interface at its container ports and reaches each peer it calls by Service name", () => {
        // Who calls whom over gRPC: the same edges the network policies admit.
        const calls: Record<string, readonly string[]> = {
          router: [...ENGINES, "outbox", "audit", "governance"],
          outbox: ["audit"],
          governance: ["audit"],
          ...Object.fromEntries(ENGINES.map((engine) => [engine, ["audit"]])),
        };
        for (const name of WORKLOADS) {
          const container = findDeployment(objects, name).spec!.template.spec!.containers[0]!;
          const env = new Map((container.env ?? []).map((v) => [v.name, v.value]));
          const port = (portName: string) => container.ports?.find((p) => p.name === portName)?.containerPort;
          expect(env.get(addressVariable(name)), name).to.equal(`0.0.0.0:${port("grpc")}`);
          expect(env.get(`SELENE_${name.toUpperCase()}_HEALTH_ADDR`), name).to.equal(`0.0.0.0:${port("health")}`);
          for (const peer of calls[name] ?? []) {
            // An undeployed peer has no Service yet; the address it will have is the same shape.
            const service = objects.find((o) => o.kind === "Service" && o.metadata.name === peer) as
              | IService
              | undefined;
            const grpcPort = service?.spec?.ports?.find((p) => p.name === "grpc")?.port ?? 7443;
            expect(service !== undefined || (UNDEPLOYED as readonly string[]).includes(peer), peer).to.equal(true);
            expect(env.get(addressVariable(peer)), `${name} -> ${peer}`).to.equal(`${peer}:${grpcPort}`);
          }
        }
        const router = findDeployment(objects, "router").spec!.template.spec!.containers[0]!;
        const connect = router.ports?.find((p) => p.name === "connect")?.containerPort;
        expect(router.env).to.deep.include({ name: "SELENE_ROUTER_CONNECT_ADDR", value: `0.0.0.0:${connect}` });
      });

      it("configures the service name, the PKI directory and, for schema owners only, DATABASE_URL", () => {
        for (const name of WORKLOADS) {
          const pod = findDeployment(objects, name).spec!.template.spec!;
          const env = pod.containers[0]!.env ?? [];
          expect(env).to.deep.include({ name: "SELENE_SERVICE", value: name });
          expect(env).to.deep.include({ name: "SELENE_PKI_DIR", value: PKI_DIR });
          const database = env.find((variable) => variable.name === "DATABASE_URL");
          if ((SCHEMA_OWNERS as readonly string[]).includes(name)) {
            expect(database?.valueFrom?.secretKeyRef?.name, name).to.equal(`${name}-database`);
            expect(database?.value).to.equal(undefined);
          } else {
            expect(database, name).to.equal(undefined);
          }
        }
      });

      it("mounts the certificate Secret where and as the runtime reads it", () => {
        for (const name of WORKLOADS) {
          const pod = findDeployment(objects, name).spec!.template.spec!;
          const mount = pod.containers[0]!.volumeMounts?.find((candidate) => candidate.mountPath === PKI_DIR);
          expect(mount?.readOnly, name).to.equal(true);
          // A subPath mount would never see a renewed certificate.
          expect(mount?.subPath).to.equal(undefined);
          const secret = pod.volumes?.find((candidate) => candidate.name === mount?.name)?.secret;
          expect(secret?.secretName).to.equal(`${name}-tls`);
          const files = pkiFiles(PKI_DIR, name);
          const fileOf = (key: string) => `${PKI_DIR}/${secret?.items?.find((item) => item.key === key)?.path}`;
          expect([fileOf("ca.crt"), fileOf("tls.crt"), fileOf("tls.key")]).to.deep.equal([
            files.ca,
            files.cert,
            files.key,
          ]);
        }
      });

      it("issues each workload a 24h ECDSA certificate for its SPIFFE id and DNS names from selene-ca", () => {
        for (const name of WORKLOADS) {
          expect(findObject(objects, "Certificate", name).spec).to.deep.equal({
            secretName: `${name}-tls`,
            duration: "24h",
            renewBefore: "8h",
            uris: [`spiffe://selene.local/ns/selene/sa/${name}`],
            dnsNames: [name, `${name}.selene.svc`, `${name}.selene.svc.cluster.local`],
            privateKey: { algorithm: "ECDSA", size: 256, encoding: "PKCS8", rotationPolicy: "Always" },
            usages: ["server auth", "client auth"],
            issuerRef: { name: "selene-ca", kind: "Issuer", group: "cert-manager.io" },
          });
        }
        expect(findObject(objects, "Issuer", "selene-ca").spec).to.deep.equal({ ca: { secretName: "selene-ca" } });
      });

      it("names the Postgres primary postgres.selene.svc:5432", () => {
        const service = findObject(objects, "Service", "postgres") as unknown as IService;
        expect(service.spec?.ports?.map((port) => port.port)).to.deep.equal([5432]);
        expect(service.spec?.selector).to.deep.equal({
          "cnpg.io/cluster": findObject(objects, "Cluster", "postgres").metadata.name,
          "cnpg.io/instanceRole": "primary",
        });
      });
    });
  }

  describe("schema check", () => {
    it("reports a built-in object that breaks its OpenAPI schema", () => {
      const broken = structuredClone(findObject(renderMesh("base"), "Deployment", "nlp")) as Manifest;
      (broken.spec as { replicas: unknown }).replicas = "two";
      expect(validateManifest(broken).join()).to.contain("Deployment/nlp").and.contain("replicas");
    });

    it("reports a cert-manager resource that breaks its CRD schema, and a kind it has no schema for", () => {
      const certificate = structuredClone(findObject(renderMesh("base"), "Certificate", "nlp")) as Manifest;
      delete (certificate.spec as { secretName?: string }).secretName;
      expect(validateManifest(certificate).join()).to.contain("Certificate/nlp").and.contain("secretName");
      const cluster = structuredClone(findObject(renderMesh("base"), "Cluster", "postgres")) as Manifest;
      (cluster.spec as { instances: number }).instances = 0;
      expect(validateManifest(cluster)).to.deep.equal([
        "Cluster/postgres: spec.instances must be an integer of at least 1",
      ]);
      const unknown: Manifest = { apiVersion: "example.com/v1", kind: "Widget", metadata: { name: "w" } };
      expect(validateManifest(unknown)).to.deep.equal(["Widget/w: no schema known for example.com/v1/Widget"]);
    });
  });

  describe("overlays", () => {
    const base = renderMesh("base");
    const dev = renderMesh("dev");
    const prod = renderMesh("prod");
    const replicas = (objects: Manifest[]) => WORKLOADS.map((name) => findDeployment(objects, name).spec?.replicas);
    const images = (objects: Manifest[]) =>
      WORKLOADS.map((name) => findDeployment(objects, name).spec?.template.spec?.containers[0]?.image);
    const memoryLimit = (objects: Manifest[], name: string) =>
      parseQuantity(findDeployment(objects, name).spec!.template.spec!.containers[0]!.resources!.limits!.memory!);
    const instances = (objects: Manifest[]) =>
      (findObject(objects, "Cluster", "postgres").spec as { instances: number }).instances;

    const allImages = (objects: Manifest[]) =>
      [
        ...new Set(
          podTemplates(objects).flatMap(({ spec }) =>
            [...(spec.initContainers ?? []), ...spec.containers].map((c) => c.image),
          ),
        ),
      ].sort();

    it("runs one replica of everything in dev, with the dev images and one Postgres instance", () => {
      expect(replicas(dev)).to.deep.equal(WORKLOADS.map(() => 1));
      expect(images(dev)).to.deep.equal(WORKLOADS.map((name) => `ghcr.io/selene-os/${name}:dev`));
      expect(allImages(dev).every((image) => image!.endsWith(":dev"))).to.equal(true);
      expect(instances(dev)).to.equal(1);
    });

    it("scales prod (router 3, everything else 2), pins every image to a release and runs three Postgres instances", () => {
      expect(replicas(prod)).to.deep.equal([3, 2, 2, 2, 2, 2, 2]);
      expect(images(prod)).to.deep.equal(WORKLOADS.map((name) => `ghcr.io/selene-os/${name}:0.1.0`));
      expect(allImages(prod)).to.deep.equal(allImages(dev).map((image) => image!.replace(":dev", ":0.1.0")));
      expect(instances(prod)).to.equal(3);
    });

    it("gives dev less memory than base and prod more than base", () => {
      for (const name of WORKLOADS) {
        expect(memoryLimit(dev, name), name).to.be.below(memoryLimit(base, name));
        expect(memoryLimit(prod, name), name).to.be.above(memoryLimit(base, name));
      }
    });

    it("renders the same set of objects in base, dev and prod", () => {
      const shape = (objects: Manifest[]) => objects.map((object) => `${object.kind}/${object.metadata.name}`).sort();
      expect(shape(prod)).to.deep.equal(shape(dev));
      expect(shape(dev)).to.deep.equal(shape(base));
    });
  });
});
