import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import { readCatalogVersion } from "../../../services/router/catalog-generation.js";
import { readRouterConfig } from "../../../services/router/config.js";
import { policyPath } from "../../../services/runtime/policy/policy-file.js";
import { findDeployment, findObject, KUSTOMIZATIONS, renderMesh } from "../../support/k8s-mesh.js";

describe("the engine catalog as a ConfigMap", () => {
  for (const which of Object.keys(KUSTOMIZATIONS) as (keyof typeof KUSTOMIZATIONS)[]) {
    describe(`${which} build`, () => {
      const objects = renderMesh(which);
      const data = () => findObject(objects, "ConfigMap", "engine-catalog").data as Record<string, string>;

      it("holds policy/engines.json and policy/resilience.json byte for byte (npm run generate rewrites it)", () => {
        expect(Object.keys(data())).to.deep.equal(["engines.json", "resilience.json"]);
        expect(data()["engines.json"]).to.equal(readFileSync(policyPath("engines"), "utf8"));
        expect(data()["resilience.json"]).to.equal(readFileSync(policyPath("resilience"), "utf8"));
      });

      it("is mounted into the router as a directory, where the router's config reads both files", () => {
        const pod = findDeployment(objects, "router").spec!.template.spec!;
        const router = pod.containers[0]!;
        const volume = pod.volumes?.find((v) => v.configMap?.name === "engine-catalog");
        expect(volume, "the engine-catalog volume").to.not.equal(undefined);
        const mount = router.volumeMounts?.find((m) => m.name === volume!.name);
        // A subPath mount would never see the ConfigMap change.
        expect(mount).to.deep.include({ readOnly: true });
        expect(mount).to.not.have.property("subPath");
        const env = Object.fromEntries(
          (router.env ?? []).flatMap((v) => (v.value === undefined ? [] : [[v.name, v.value]])),
        );
        const config = readRouterConfig({ DATABASE_URL: "postgres://x", ...env });
        expect(config.catalogPath).to.equal(`${mount!.mountPath}/engines.json`);
        expect(config.resiliencePolicyPath).to.equal(`${mount!.mountPath}/resilience.json`);
        // What the router reads from the mounted directory passes its checks.
        const dir = mkdtempSync(join(tmpdir(), "selene-catalog-mount-"));
        try {
          for (const [key, text] of Object.entries(data())) writeFileSync(join(dir, key), text);
          const version = readCatalogVersion(
            { catalog: join(dir, "engines.json"), resilience: join(dir, "resilience.json") },
            config.engineAddress,
          );
          expect([...version.addresses]).to.deep.include(["nlp", "nlp:7443"]);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      });
    });
  }
});
