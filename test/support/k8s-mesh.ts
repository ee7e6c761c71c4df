/** What the k8s/ manifests are expected to deploy, and helpers to load and look them up in tests. */
import { fileURLToPath } from "node:url";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import { type Manifest, renderKustomization } from "./k8s-render.js";

/** Every Selene workload: one Deployment, Service, ServiceAccount, Certificate and PDB each. */
export const WORKLOADS = ["router", "nlp", "tools", "reminders", "calc", "outbox", "audit", "governance"] as const;

/** The engines, which only the router may call. */
export const ENGINES = ["nlp", "tools", "reminders", "calc"] as const;

/** The workloads that own a Postgres schema and so receive DATABASE_URL. */
export const SCHEMA_OWNERS = ["router", "reminders", "outbox", "audit", "governance"] as const;

/** The kustomizations under k8s/, by short name. */
export const KUSTOMIZATIONS = { base: "base", dev: "overlays/dev", prod: "overlays/prod" } as const;

/** Renders one of the kustomizations under k8s/. */
export function renderMesh(which: keyof typeof KUSTOMIZATIONS): Manifest[] {
  return renderKustomization(fileURLToPath(new URL(`../../k8s/${KUSTOMIZATIONS[which]}`, import.meta.url)));
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
