import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { expect } from "chai";
import { mmdebstrapArgs, ROOTFS, rootfsKey } from "../../../deploy/images/base-rootfs.js";
import {
  APP_DIR,
  applicationContainerfile,
  containerfileOf,
  IMAGES,
  imageReference,
} from "../../../deploy/images/image-catalog.js";
import { WORKLOADS } from "../../support/k8s-mesh.js";

const root = fileURLToPath(new URL("../../../", import.meta.url));

describe("images", () => {
  it("builds one image per deployed workload, plus the migrations, the toolbox and the podman database", () => {
    expect(IMAGES.map((image) => image.name).sort()).to.deep.equal(
      [...WORKLOADS, "migrations", "toolbox", "selene-postgres"].sort(),
    );
    expect(imageReference(IMAGES[0]!, "dev")).to.equal("ghcr.io/selene-os/router:dev");
  });

  it("runs each entrypoint directly (PID 1 gets SIGTERM), from a file the repository builds", () => {
    for (const image of IMAGES.filter((i) => i.rootfs === "selene")) {
      const [program, script] = image.entrypoint;
      expect(["/usr/bin/node", "/usr/bin/python3", "/usr/local/bin/toolbox-idle"], image.name).to.include(program);
      if (script === undefined) continue;
      const source = script.replace(`${APP_DIR}/dist/`, "").replace(`${APP_DIR}/`, "").replace(/\.js$/, ".ts");
      expect(existsSync(`${root}${source}`), `${image.name}: ${source}`).to.equal(true);
    }
  });

  it("writes Containerfiles without RUN steps, as the unprivileged user, entrypoint in exec form", () => {
    for (const image of IMAGES) {
      const text = containerfileOf(image, "localhost/base:1");
      expect(text, image.name).not.to.match(/^RUN /m);
      expect(text).to.contain("USER 10001:10001\n");
      expect(text).to.contain(`ENTRYPOINT ${JSON.stringify(image.entrypoint)}\n`);
    }
    expect(applicationContainerfile("localhost/base:1")).not.to.match(/^RUN /m);
  });

  it("keys a root filesystem by what shapes it: a package more is another base image", () => {
    const spec = ROOTFS.selene;
    expect(rootfsKey(spec, root)).to.equal(rootfsKey(structuredClone(spec), root));
    expect(rootfsKey({ ...spec, packages: [...spec.packages, "curl"] }, root)).not.to.equal(rootfsKey(spec, root));
    expect(mmdebstrapArgs(spec, root, "/tmp/r.tar")).to.include(`--include=${spec.packages.join(",")}`);
    expect(spec.packages).to.include.members([
      "nodejs",
      "python3-grpcio",
      "python3-protobuf",
      "python3-prometheus-client",
    ]);
  });
});
