import { expect } from "chai";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import { type KubeObject, kubePlayPhases, podOf } from "../../../deploy/cluster/kube-play-documents.js";
import { MESH_ORDER } from "../../../deploy/mesh-processes.js";
import { findDeployment, renderMesh, UNDEPLOYED } from "../../support/k8s-mesh.js";
import { validateManifest } from "../../support/k8s-validate.js";
import type { Manifest } from "../../support/kubectl-kustomize.js";

const podman = renderMesh("podman");
const dev = renderMesh("dev");
const deployments = (objects: Manifest[]) => objects.filter((o) => o.kind === "Deployment").map((o) => o.metadata.name);

/** A podman Deployment with what the overlay may change put back as dev has it. */
function undoPodmanChanges(deployment: IDeployment, devPorts: unknown): IDeployment {
  const copy = structuredClone(deployment);
  const pod = copy.spec!.template.spec!;
  delete pod.restartPolicy;
  for (const volume of pod.volumes ?? []) delete volume.secret?.optional;
  for (const container of pod.containers) {
    for (const variable of container.env ?? []) {
      if (variable.value !== undefined) variable.value = variable.value.replace(/-pod-0:/, ":");
    }
    // kustomize moves patched variables to the front: order is no change.
    container.env?.sort((a, b) => a.name.localeCompare(b.name));
    if (devPorts === undefined) delete container.ports;
    else container.ports = devPorts as typeof container.ports;
  }
  return copy;
}

describe("k8s podman overlay", () => {
  it("validates every object against its schema", () => {
    expect(podman.flatMap(validateManifest)).to.deep.equal([]);
  });

  it("replaces the CloudNativePG Cluster with a postgres Deployment and changes nothing else's set", () => {
    const shape = (objects: Manifest[]) => objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
    expect(shape(podman)).to.deep.equal(
      [...shape(dev).filter((id) => id !== "Cluster/postgres"), "Deployment/postgres"].sort(),
    );
  });

  it("changes a Deployment only in peer addresses, ports, restart policy and secret volumes' optional", () => {
    for (const name of deployments(dev)) {
      const devDeployment = findDeployment(dev, name);
      const devPorts = devDeployment.spec!.template.spec!.containers[0]!.ports;
      const restored = undoPodmanChanges(findDeployment(podman, name), name === "router" ? devPorts : undefined);
      for (const c of devDeployment.spec!.template.spec!.containers) {
        c.env?.sort((a, b) => a.name.localeCompare(b.name));
        if (name !== "router") delete c.ports;
      }
      expect(restored, name).to.deep.equal(devDeployment);
    }
  });

  it("points every peer address at a pod podman runs (governance aside: it only has to parse)", () => {
    const played = new Set(deployments(podman).map(podOf));
    for (const name of deployments(podman)) {
      for (const container of findDeployment(podman, name).spec!.template.spec!.containers) {
        for (const variable of container.env ?? []) {
          if (!/^SELENE_[A-Z]+_ADDR$/.test(variable.name) || variable.value?.startsWith("0.0.0.0:")) continue;
          const host = variable.value!.split(":")[0]!;
          const peer = host.replace(/-pod-0$/, "");
          expect(
            played.has(host) || (UNDEPLOYED as readonly string[]).includes(peer),
            `${name} ${variable.name}`,
          ).to.equal(true);
          expect(host, `${name} ${variable.name}`).to.equal(podOf(peer));
        }
      }
    }
  });

  it("publishes the router's gRPC, Connect and health ports on loopback in 36000-36999, and nothing else", () => {
    for (const name of deployments(podman)) {
      const ports = findDeployment(podman, name).spec!.template.spec!.containers.flatMap((c) => c.ports ?? []);
      if (name !== "router") {
        expect(ports, name).to.deep.equal([]);
        continue;
      }
      expect(ports.map((p) => `${p.containerPort}->${p.hostIP}:${p.hostPort}`)).to.deep.equal([
        "7443->127.0.0.1:31051",
        "8443->127.0.0.1:31443",
        "7080->127.0.0.1:31151",
      ]);
    }
  });
});

describe("kube play phases", () => {
  const phases = kubePlayPhases(podman as unknown as KubeObject[]);
  const podSpec = (object: KubeObject): IPodSpec =>
    object.kind === "Pod" ? (object.spec as IPodSpec) : (object.spec as IDeployment["spec"])!.template.spec!;

  it("plays the database, then the migrations Job as a Pod run once, then the workloads callees first", () => {
    expect(phases.database.map((o) => `${o.kind}/${o.metadata.name}`)).to.deep.equal(["Deployment/postgres"]);
    const [migrations] = phases.migrations;
    expect(`${migrations!.kind}/${migrations!.metadata.name}`).to.equal("Pod/migrations");
    const job = podman.find((o) => o.kind === "Job")!.spec as { template: { spec: IPodSpec } };
    expect(podSpec(migrations!).containers).to.deep.equal(job.template.spec.containers);
    expect(podSpec(migrations!).restartPolicy).to.equal("Never");
    expect(phases.workloads.map((o) => o.metadata.name)).to.deep.equal([
      "engine-catalog",
      "client-tenants",
      ...MESH_ORDER,
      "toolbox",
    ]);
  });

  it("gives each pod emptyDir volumes of its own name, mounted under the new name", () => {
    const all = [...phases.database, ...phases.migrations, ...phases.workloads].filter((o) => o.kind !== "ConfigMap");
    const names: string[] = [];
    for (const object of all) {
      const spec = podSpec(object);
      const emptyDirs = (spec.volumes ?? []).filter((v) => v.emptyDir !== undefined).map((v) => v.name);
      names.push(...emptyDirs);
      const prefix = object.kind === "Pod" ? object.metadata.name : podOf(object.metadata.name);
      for (const name of emptyDirs) expect(name.startsWith(`${prefix}-`), name).to.equal(true);
      const volumes = new Set((spec.volumes ?? []).map((v) => v.name));
      for (const container of [...(spec.initContainers ?? []), ...spec.containers]) {
        for (const mount of container.volumeMounts ?? []) expect(volumes.has(mount.name), mount.name).to.equal(true);
      }
    }
    expect(new Set(names).size).to.equal(names.length);
    expect([...phases.emptyDirVolumes].sort()).to.deep.equal([...names].sort());
  });

  it("lists the ConfigMaps mounted as volumes, which podman keeps as named volumes after kube down", () => {
    expect(phases.configMapVolumes).to.deep.equal(["engine-catalog"]);
    const played = new Set(phases.workloads.filter((o) => o.kind === "ConfigMap").map((o) => o.metadata.name));
    for (const name of phases.configMapVolumes) expect(played.has(name), name).to.equal(true);
  });
});
