import { expect } from "chai";
import { atMost, commonVersion, parseVersion } from "../../../services/router/engine-versions.js";
import { CURRENT_CONTRACT_VERSION, supportedRange } from "../../../services/runtime/contract-version.js";

describe("the contract version the router speaks to an engine", () => {
  const { min, max } = supportedRange();

  it("is the highest the engine announces within the router's window", () => {
    expect(commonVersion([min, max])).to.deep.equal(max);
    expect(commonVersion([max, min])).to.deep.equal(max);
    expect(commonVersion([min])).to.deep.equal(min);
    expect(commonVersion([min, { major: max.major, minor: max.minor + 1 }])).to.deep.equal(min);
  });

  it("is none when the engine announces nothing the window holds", () => {
    expect(commonVersion([])).to.equal(undefined);
    expect(commonVersion([{ major: max.major + 1, minor: 0 }])).to.equal(undefined);
  });

  it("lowers a later envelope version to the spoken one, and leaves an earlier or equal one", () => {
    const request = { envelope: { contractVersion: CURRENT_CONTRACT_VERSION, tenantId: "acme" }, capability: "x" };
    const lowered = atMost(request, min);
    expect(lowered.envelope.contractVersion).to.deep.equal(min);
    expect(lowered.envelope.tenantId).to.equal("acme");
    expect(request.envelope.contractVersion, "the caller's request is not changed").to.deep.equal(
      CURRENT_CONTRACT_VERSION,
    );
    expect(atMost(request, max)).to.equal(request);
    const older = { envelope: { contractVersion: min } };
    expect(atMost(older, max)).to.equal(older);
    const none = { capability: "x" };
    expect(atMost(none, min)).to.equal(none);
  });

  it("reads a refusal's supported_max", () => {
    expect(parseVersion("1.0")).to.deep.equal({ major: 1, minor: 0 });
    expect(parseVersion("1.x")).to.equal(undefined);
    expect(parseVersion(undefined)).to.equal(undefined);
  });
});
