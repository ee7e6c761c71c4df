/** What the k8s/ manifests are expected to deploy, and helpers to render and look them up in tests. */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import { WORKLOAD_NAMES } from "../../services/runtime/workload-identities.js";
import { kustomize, type Manifest } from "./kubectl-kustomize.js";

/** A workload that no overlay deploys until its service exists (k8s/components/governance). */
export const UNDEPLOYED = ["governance"] as const;

/** Every deployed Selene workload: one Deployment, Service, ServiceAccount, Certificate and PDB each. */
export const WORKLOADS = WORKLOAD_NAMES.filter((name) => !(UNDEPLOYED as readonly string[]).includes(name));

/** The engines, which only the router may call. */
export const ENGINES = ["nlp", "tools", "reminders", "calc"] as const;

/** The workloads that own a Postgres schema and so receive DATABASE_URL and wait for the migrations. */
export const SCHEMA_OWNERS = ["router", "reminders", "outbox", "audit"] as const;

/** The kustomizations under k8s/ an operator applies, by short name. */
export const KUSTOMIZATIONS = { base: "base", dev: "overlays/dev", prod: "overlays/prod" } as const;

/** The absolute path of a directory under k8s/. */
export function k8sPath(relative: string): string {
  return fileURLToPath(new URL(`../../k8s/${relative}`, import.meta.url));
}

const rendered = new Map<string, Manifest[]>();

/**
 * Renders a kustomization under k8s/ with the real kubectl (once per test process), optionally with
 * components added, as an overlay would add them. Each caller gets its own copy.
 */
export function renderMesh(
  which: keyof typeof KUSTOMIZATIONS | "podman",
  components: readonly string[] = [],
): Manifest[] {
  const path = which === "podman" ? "overlays/podman" : KUSTOMIZATIONS[which];
  const key = [path, ...components].join("+");
  let objects = rendered.get(key);
  if (objects === undefined) {
    objects = components.length === 0 ? kustomize(k8sPath(path)) : renderWithComponents(path, components);
    rendered.set(key, objects);
  }
  return structuredClone(objects);
}

function renderWithComponents(path: string, components: readonly string[]): Manifest[] {
  const dir = mkdtempSync(join(tmpdir(), "selene-kustomize-"));
  try {
    const kustomization = {
      apiVersion: "kustomize.config.k8s.io/v1beta1",
      kind: "Kustomization",
      // kustomize takes no absolute roots: paths relative to the temporary directory.
      resources: [relative(dir, k8sPath(path))],
      components: components.map((component) => relative(dir, k8sPath(`components/${component}`))),
    };
    writeFileSync(join(dir, "kustomization.yaml"), JSON.stringify(kustomization));
    return kustomize(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The one object of `kind` named `name`; throws when absent, so a missing object fails the test. */
export function findObject(objects: readonly Manifest[], kind: string, name: string): Manifest {
  const found = objects.find((object) => object.kind === kind && object.metadata.name === name);
  if (found === undefined) throw new Error(`no ${kind} named ${name}`);
  return found;
}

/** The Deployment named `name`, typed. */
export function findDeployment(objects: readonly Manifest[], name: string): IDeployment {
  return findObject(objects, "Deployment", name) as unknown as IDeployment;
}

/** Every pod template the manifests run: the Deployments' and the migrations Job's. */
export function podTemplates(objects: readonly Manifest[]): { name: string; spec: IPodSpec }[] {
  return objects
    .filter((object) => object.kind === "Deployment" || object.kind === "Job")
    .map((object) => ({
      name: `${object.kind}/${object.metadata.name}`,
      spec: (object.spec as { template: { spec: IPodSpec } }).template.spec,
    }));
}
