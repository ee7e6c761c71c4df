import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { expect } from "chai";
import { parseAllDocuments } from "yaml";
import { durationValueMs } from "../../../bench/load/duration-text.js";
import { type ChaosProfile, type FaultSpec, loadProfile } from "../../../chaos/chaos-profile.js";
import { renderMesh } from "../../support/k8s-mesh.js";
import { podsFromManifests } from "../../support/k8s-pod-model.js";

const PROFILES = join(process.cwd(), "chaos", "profiles");
const EXPERIMENTS = join(process.cwd(), "chaos", "k8s");
const KINDS = new Set(["NetworkChaos", "PodChaos"]);

interface Selector {
  namespaces: string[];
  labelSelectors: Record<string, string>;
}
interface Experiment {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace: string; labels: Record<string, string> };
  spec: {
    action: string;
    mode: string;
    selector: Selector;
    target?: { mode: string; selector: Selector };
    duration?: string;
  };
}

function experimentsOf(name: string): Experiment[] {
  return parseAllDocuments(readFileSync(join(EXPERIMENTS, `${name}.yaml`), "utf8")).map(
    (d) => d.toJSON() as Experiment,
  );
}

const names = (dir: string) =>
  readdirSync(dir)
    .filter((f) => f.endsWith(".yaml"))
    .map((f) => f.slice(0, -5))
    .sort();

/** The workload a local fault acts on, and (for a link) the one at the other end. */
function endsOf(fault: FaultSpec): { selector: string; target?: string } {
  if (fault.kind === "postgres") return { selector: "postgres" };
  if (fault.kind === "process") return { selector: fault.target };
  const [client, server] = fault.link.split("-") as [string, string];
  return { selector: client, target: server };
}

const ACTIONS: Record<string, string[]> = {
  delay: ["delay"],
  bandwidth: ["bandwidth"],
  reset: ["partition"],
  blackhole: ["loss"],
  "half-open": ["partition"],
  kill: ["pod-kill"],
  restart: ["pod-kill"],
  stop: ["pod-failure"],
  postgres: ["pod-kill"],
  streams: ["loss"],
};

function actionKey(fault: FaultSpec): string {
  if (fault.kind === "postgres") return "postgres";
  if (fault.kind === "process") return fault.action;
  if (fault.kind === "streams")
    return fault.failEvery === undefined && fault.loseAnswerEvery === undefined ? "delay" : "streams";
  if (fault.mode !== "pass") return fault.mode;
  return fault.bandwidthBytesPerSec !== undefined ? "bandwidth" : "delay";
}

describe("chaos/k8s: Chaos Mesh experiments mirror the local profiles", () => {
  const pods = podsFromManifests(renderMesh("base"));
  const nameOf = (selector: Selector): string => {
    const matching = pods.filter(
      (p) =>
        selector.namespaces.includes(p.namespace) &&
        Object.entries(selector.labelSelectors).every(([k, v]) => p.labels[k] === v),
    );
    expect(matching, JSON.stringify(selector)).to.have.length(1);
    return matching[0]!.name;
  };

  it("has one experiment file per profile, and no other", () => {
    expect(names(EXPERIMENTS)).to.deep.equal(names(PROFILES));
  });

  for (const name of names(PROFILES)) {
    describe(name, () => {
      const profile: ChaosProfile = loadProfile(join(PROFILES, `${name}.yaml`));
      const experiments = experimentsOf(name);

      it("holds Chaos Mesh kinds in namespace selene, labelled with the profile", () => {
        for (const e of experiments) {
          expect(e.apiVersion).to.equal("chaos-mesh.org/v1alpha1");
          expect(KINDS.has(e.kind), e.kind).to.equal(true);
          expect(e.metadata.namespace).to.equal("selene");
          expect(e.metadata.labels["selene.io/chaos-profile"]).to.equal(name);
          expect(e.spec.mode).to.equal("all");
        }
      });

      it("selects pods that the k8s/ base manifests run, one experiment per local fault", () => {
        expect(experiments).to.have.length(profile.faults.length);
        for (const [i, fault] of profile.faults.entries()) {
          const e = experiments[i]!;
          const ends = endsOf(fault);
          expect(nameOf(e.spec.selector), e.metadata.name).to.equal(ends.selector);
          if (ends.target === undefined) {
            expect(e.kind).to.equal("PodChaos");
            expect(e.spec.target).to.equal(undefined);
          } else {
            expect(e.kind).to.equal("NetworkChaos");
            expect(nameOf(e.spec.target!.selector), e.metadata.name).to.equal(ends.target);
          }
          expect(ACTIONS[actionKey(fault)]).to.include(e.spec.action);
        }
      });

      it("lasts as long as the local fault window when Chaos Mesh keeps a fault on", () => {
        for (const e of experiments) {
          if (e.spec.action === "pod-kill") continue;
          expect(durationValueMs(e.spec.duration, e.metadata.name)).to.equal(profile.faultMs);
        }
      });
    });
  }
});
