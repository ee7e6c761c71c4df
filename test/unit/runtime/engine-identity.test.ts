import { expect } from "chai";
import { engineIdentity, IDENTITIES } from "../../../services/runtime/workload-identities.js";

describe("the identity of an engine outside the mesh's table", () => {
  it("is a workload in namespace selene, as the table's engines are", () => {
    expect(engineIdentity("notes")).to.deep.equal({
      name: "notes",
      spiffeId: "spiffe://selene.local/ns/selene/sa/notes",
      kind: "workload",
    });
    expect(IDENTITIES.map((identity) => identity.name)).to.not.include("notes");
  });

  it("refuses a name that is not a DNS label, and one the table already holds", () => {
    for (const name of ["", "Notes", "-notes", "notes-", "no tes", "a".repeat(64)]) {
      expect(() => engineIdentity(name), name).to.throw(/is not a DNS label/);
    }
    expect(() => engineIdentity("calc")).to.throw(/already an identity of the mesh/);
  });
});
