import { expect } from "chai";
import {
  CLUSTER_PACKAGES,
  ensureSystemPackages,
  MESH_PACKAGES,
  type PackageFacts,
  planPackages,
  SystemPackagesError,
} from "../../../deploy/system-packages.js";

const facts = (over: Partial<PackageFacts>): PackageFacts => ({
  missing: [],
  hasApt: true,
  isRoot: false,
  passwordlessSudo: false,
  ...over,
});

describe("system packages", () => {
  it("lists what the mesh needs at run time, and no protoc", () => {
    const names = MESH_PACKAGES.map((p) => p.name);
    expect(names).to.deep.equal(["python3-grpcio", "python3-protobuf", "python3-prometheus-client"]);
    expect(names.some((n) => n.startsWith("protobuf-compiler"))).to.equal(false);
    expect(new Set([...names, ...CLUSTER_PACKAGES.map((p) => p.name)]).size).to.equal(
      names.length + CLUSTER_PACKAGES.length,
    );
  });

  it("does nothing when every package is present, whoever runs it", () => {
    for (const who of [{ isRoot: true }, { isRoot: false }, { hasApt: false }]) {
      expect(planPackages(facts(who))).to.deep.equal({ kind: "present" });
    }
  });

  it("installs what is missing as root with apt-get, updating the index first", () => {
    const plan = planPackages(facts({ missing: ["python3-grpcio", "python3-protobuf"], isRoot: true }));
    expect(plan).to.deep.equal({
      kind: "install",
      missing: ["python3-grpcio", "python3-protobuf"],
      commands: [
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", "python3-grpcio", "python3-protobuf"],
      ],
    });
  });

  it("installs through sudo -n when sudo needs no password", () => {
    const plan = planPackages(facts({ missing: ["python3-prometheus-client"], passwordlessSudo: true }));
    expect(plan.kind).to.equal("install");
    if (plan.kind !== "install") return;
    for (const command of plan.commands) expect(command.slice(0, 3)).to.deep.equal(["sudo", "-n", "apt-get"]);
  });

  it("stops with the exact command when it may not install", () => {
    const plan = planPackages(facts({ missing: ["python3-grpcio", "python3-protobuf"] }));
    expect(plan.kind).to.equal("blocked");
    if (plan.kind !== "blocked") return;
    expect(plan.message).to.contain("`sudo apt-get update && sudo apt-get install -y python3-grpcio python3-protobuf`");
    expect(plan.message.split("\n")).to.have.length(1);
  });

  it("names the packages when the machine has no apt-get", () => {
    const plan = planPackages(facts({ missing: ["python3-grpcio"], isRoot: true, hasApt: false }));
    expect(plan.kind).to.equal("blocked");
    if (plan.kind === "blocked") expect(plan.message).to.contain("python3-grpcio").and.contain("no apt-get");
  });

  it("throws the message, before running anything, when blocked", async () => {
    const said: string[] = [];
    const error = await ensureSystemPackages(
      MESH_PACKAGES,
      (l) => said.push(l),
      facts({ missing: ["python3-grpcio"] }),
    ).catch((err: unknown) => err);
    expect(error).to.be.instanceOf(SystemPackagesError);
    expect((error as Error).message).to.contain("sudo apt-get install -y python3-grpcio`");
    expect(said).to.deep.equal([]);
  });

  it("returns nothing installed and says nothing when all are present", async () => {
    const said: string[] = [];
    expect(await ensureSystemPackages(MESH_PACKAGES, (l) => said.push(l), facts({}))).to.deep.equal([]);
    expect(said).to.deep.equal([]);
  });
});
