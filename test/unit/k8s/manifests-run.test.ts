import { existsSync } from "node:fs";
import { expect } from "chai";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import { IMAGE_REPOSITORY, IMAGES } from "../../../deploy/images/image-catalog.js";
import { serviceUrlVariable } from "../../../deploy/migration-job-config.js";
import { readRouterConfig } from "../../../services/router/config.js";
import { addressVariable } from "../../../services/runtime/service-config.js";
import { pkiFiles } from "../../../services/runtime/tls-credentials.js";
import { spiffeIdOf } from "../../../services/runtime/workload-identities.js";
import {
  findDeployment,
  findObject,
  KUSTOMIZATIONS,
  podTemplates,
  renderMesh,
  SCHEMA_OWNERS,
  UNDEPLOYED,
  WORKLOADS,
} from "../../support/k8s-mesh.js";

const PKI_DIR = "/var/run/selene/pki";

describe("k8s manifests that run", () => {
  for (const which of Object.keys(KUSTOMIZATIONS) as (keyof typeof KUSTOMIZATIONS)[]) {
    describe(`${which} build`, () => {
      const objects = renderMesh(which);

      it("applies nothing of governance until the service exists, nor any image that is not built", () => {
        // Its NetworkPolicy stays, ready: it selects no pod until the component is added.
        for (const name of UNDEPLOYED) {
          const kinds = objects.filter((object) => object.metadata.name === name).map((object) => object.kind);
          expect(kinds, name).to.deep.equal(["NetworkPolicy"]);
        }
        const built = new Set(IMAGES.map((image) => `${IMAGE_REPOSITORY}/${image.name}`));
        for (const { name, spec } of podTemplates(objects)) {
          for (const container of [...(spec.initContainers ?? []), ...spec.containers]) {
            expect(built.has(container.image!.split(":")[0]!), `${name} ${container.image}`).to.equal(true);
          }
        }
      });
      it("runs the migrations as a Job with the migrating login and each schema owner's own URL", () => {
        const job = findObject(objects, "Job", "migrations").spec as { template: { spec: IPodSpec } };
        const env = job.template.spec.containers[0]!.env ?? [];
        const secretOf = (variable: string) => env.find((v) => v.name === variable)?.valueFrom?.secretKeyRef;
        expect(secretOf("DATABASE_URL")).to.deep.equal({ name: "migrations-database", key: "url" });
        for (const owner of SCHEMA_OWNERS) {
          expect(secretOf(serviceUrlVariable(owner)), owner).to.deep.equal({ name: `${owner}-database`, key: "url" });
        }
        expect(env.map((v) => v.name)).to.have.length(1 + SCHEMA_OWNERS.length);
        expect(job.template.spec.containers[0]!.image).to.match(/\/migrations:/);
      });
      it("makes each schema owner wait for its own schema's migrations, logged in as itself", () => {
        for (const name of WORKLOADS) {
          const init = findDeployment(objects, name).spec!.template.spec!.initContainers ?? [];
          if (!(SCHEMA_OWNERS as readonly string[]).includes(name)) {
            expect(init, name).to.deep.equal([]);
            continue;
          }
          expect(init.map((container) => container.name)).to.deep.equal(["wait-for-migrations"]);
          const [wait] = init;
          expect(wait!.image).to.match(/\/migrations:/);
          expect(wait!.command).to.deep.equal(["/usr/bin/node", "/opt/selene/dist/deploy/wait-for-migrations.js"]);
          expect(existsSync(new URL("../../../deploy/wait-for-migrations.ts", import.meta.url))).to.equal(true);
          expect(wait!.env).to.deep.include({ name: "SELENE_MIGRATED_SCHEMA", value: name });
          const url = wait!.env?.find((v) => v.name === "DATABASE_URL")?.valueFrom?.secretKeyRef;
          expect(url, name).to.deep.equal({ name: `${name}-database`, key: "url" });
        }
      });
      it("gives the router its client-to-tenant map from a ConfigMap that the router's config accepts", () => {
        const router = findDeployment(objects, "router").spec!.template.spec!.containers[0]!;
        const ref = router.env?.find((v) => v.name === "SELENE_CLIENT_TENANTS")?.valueFrom?.configMapKeyRef;
        expect(ref).to.deep.equal({ name: "client-tenants", key: "SELENE_CLIENT_TENANTS" });
        const data = findObject(objects, "ConfigMap", "client-tenants").data as Record<string, string>;
        const config = readRouterConfig({
          DATABASE_URL: "postgres://x",
          SELENE_CLIENT_TENANTS: data.SELENE_CLIENT_TENANTS,
        });
        expect([...config.clientTenants]).to.deep.equal([[spiffeIdOf("demo-app"), "demo"]]);
      });
      it("issues client certificates to the demo application and the operator, for client auth only", () => {
        for (const name of ["demo-app", "operator"]) {
          const spec = findObject(objects, "Certificate", name).spec as Record<string, unknown>;
          expect(spec, name).to.deep.include({
            secretName: `${name}-tls`,
            uris: [spiffeIdOf(name)],
            usages: ["client auth"],
            issuerRef: { name: "selene-ca", kind: "Issuer", group: "cert-manager.io" },
          });
        }
      });
      it("runs the operator toolbox with the operator certificate, labelled for the operator policies", () => {
        const toolbox = findDeployment(objects, "toolbox").spec!.template;
        expect(toolbox.metadata?.labels).to.include({ "selene.io/role": "operator" });
        const pod = toolbox.spec!;
        const files = pkiFiles(PKI_DIR, "operator");
        const secret = pod.volumes?.find((volume) => volume.name === "pki")?.secret;
        expect(secret?.secretName).to.equal("operator-tls");
        const fileOf = (key: string) => `${PKI_DIR}/${secret?.items?.find((item) => item.key === key)?.path}`;
        expect([fileOf("ca.crt"), fileOf("tls.crt"), fileOf("tls.key")]).to.deep.equal([
          files.ca,
          files.cert,
          files.key,
        ]);
        const env = new Map((pod.containers[0]!.env ?? []).map((v) => [v.name, v.value]));
        for (const peer of ["audit", "outbox"]) expect(env.get(addressVariable(peer))).to.equal(`${peer}:7443`);
      });
    });
  }
});
