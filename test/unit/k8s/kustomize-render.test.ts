import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { expect } from "chai";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import { type Manifest, parseImage, renderKustomization } from "../../support/k8s-render.js";

const DEPLOYMENT = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  replicas: 1
  selector:
    matchLabels: { app: web }
  template:
    metadata:
      labels: { app: web }
    spec:
      containers:
        - name: web
          image: registry.local:5000/web:1.0
          resources: { requests: { cpu: 100m }, limits: { cpu: "1" } }
        - name: sidecar
          image: sidecar:1
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  selector: { app: web }
  ports: [{ port: 80 }]
`;

const PATCH = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
spec:
  template:
    spec:
      containers:
        - name: web
          resources: { limits: { cpu: "2" } }
`;

describe("kustomize render", () => {
  let root: string;
  const write = (file: string, text: string) => {
    mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
    writeFileSync(path.join(root, file), text);
  };
  const kustomization = (fields: string) =>
    `apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\n${fields}`;
  const deployment = (objects: Manifest[]) =>
    objects.find((object) => object.kind === "Deployment") as unknown as IDeployment;

  before(() => {
    root = mkdtempSync(path.join(tmpdir(), "k8s-render-"));
    write("base/app.yaml", DEPLOYMENT);
    write(
      "base/kustomization.yaml",
      kustomization(`namespace: shop
labels:
  - pairs: { team: blue }
    includeTemplates: true
resources: [app.yaml]
`),
    );
    write("overlay/patch.yaml", PATCH);
    write(
      "overlay/kustomization.yaml",
      kustomization(`resources: [../base]
patches: [{ path: patch.yaml }]
replicas: [{ name: web, count: 4 }]
images: [{ name: registry.local:5000/web, newTag: "2.0" }]
`),
    );
  });

  after(() => rmSync(root, { recursive: true, force: true }));

  it("sets the namespace and adds labels to metadata and pod templates, never to selectors", () => {
    const objects = renderKustomization(path.join(root, "base"));
    for (const object of objects) {
      expect(object.metadata.namespace).to.equal("shop");
      expect(object.metadata.labels).to.deep.equal({ team: "blue" });
    }
    const spec = deployment(objects).spec!;
    expect(spec.template.metadata?.labels).to.deep.equal({ app: "web", team: "blue" });
    expect(spec.selector.matchLabels).to.deep.equal({ app: "web" });
    const service = objects.find((object) => object.kind === "Service")!;
    expect((service.spec as { selector: object }).selector).to.deep.equal({ app: "web" });
  });

  it("patches containers by name, keeping what the patch does not mention", () => {
    const containers = deployment(renderKustomization(path.join(root, "overlay"))).spec!.template.spec!.containers;
    expect(containers.map((container) => container.name)).to.deep.equal(["web", "sidecar"]);
    expect(containers[0]!.resources).to.deep.equal({ requests: { cpu: "100m" }, limits: { cpu: "2" } });
  });

  it("sets replicas and retags only the named image, with a registry port in its name", () => {
    const spec = deployment(renderKustomization(path.join(root, "overlay"))).spec!;
    expect(spec.replicas).to.equal(4);
    expect(spec.template.spec!.containers.map((container) => container.image)).to.deep.equal([
      "registry.local:5000/web:2.0",
      "sidecar:1",
    ]);
  });

  it("refuses a kustomization field it does not implement", () => {
    write("unsupported/kustomization.yaml", kustomization("resources: [../base/app.yaml]\ncommonLabels: { a: b }\n"));
    expect(() => renderKustomization(path.join(root, "unsupported"))).to.throw("commonLabels is not supported");
  });

  it("refuses a patch, a replicas entry or an image that matches nothing", () => {
    write("stray/other.yaml", PATCH.replace("name: web", "name: nope"));
    write("stray/kustomization.yaml", kustomization("resources: [../base]\npatches: [{ path: other.yaml }]\n"));
    expect(() => renderKustomization(path.join(root, "stray"))).to.throw("matches 0 resources");
    write("stray/kustomization.yaml", kustomization("resources: [../base]\nreplicas: [{ name: nope, count: 2 }]\n"));
    expect(() => renderKustomization(path.join(root, "stray"))).to.throw("nothing named nope");
    write("stray/kustomization.yaml", kustomization("resources: [../base]\nimages: [{ name: nope, newTag: x }]\n"));
    expect(() => renderKustomization(path.join(root, "stray"))).to.throw("no container uses nope");
  });

  it("refuses the same resource listed twice", () => {
    write("twice/kustomization.yaml", kustomization("resources: [../base/app.yaml, ../base/app.yaml]\n"));
    expect(() => renderKustomization(path.join(root, "twice"))).to.throw("listed twice");
  });

  it("splits image references into name and tag or digest", () => {
    expect(parseImage("ghcr.io/selene-os/router:dev")).to.deep.equal({
      name: "ghcr.io/selene-os/router",
      suffix: ":dev",
    });
    expect(parseImage("host:5000/a/b")).to.deep.equal({ name: "host:5000/a/b", suffix: "" });
    expect(parseImage("a@sha256:00")).to.deep.equal({ name: "a", suffix: "@sha256:00" });
    expect(parseImage("a:1@sha256:00")).to.deep.equal({ name: "a", suffix: ":1@sha256:00" });
  });
});
