import { expect } from "chai";
import { CONTRACT_SURFACE, surfaceFiles } from "../../../services/runtime/contract-surface.js";
import { generatedFiles } from "../../support/generated-files.js";

describe("contract surface digest", () => {
  it("covers every generated selene file", async () => {
    expect(surfaceFiles().map((f) => f.name)).to.deep.equal((await generatedFiles()).map((f) => f.name));
  });

  it("is a sha256 digest, different for another set of files", async () => {
    expect(CONTRACT_SURFACE).to.match(/^sha256:[0-9a-f]{64}$/);
    const [first] = await generatedFiles();
    expect(surfaceFiles([first!]).length).to.be.lessThan(surfaceFiles().length);
  });
});
