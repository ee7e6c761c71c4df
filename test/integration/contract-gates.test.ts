import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect } from "chai";
import {
  bufBreaking,
  bufLint,
  genDrift,
  REVIEWED_RULE_CHANGES,
  releaseImages,
  ruleGate,
} from "../../scripts/contract-checks.js";

const root = process.cwd();
const TURN_PROTO = "proto/selene/os/v1/turn.proto";
const AUDIT_PROTO = "proto/selene/audit/v1/audit.proto";
const ENVELOPE_PROTO = "proto/selene/kernel/v1/envelope.proto";

/** A throwaway copy of the contracts and generated code, sharing node_modules. */
function copyOfContracts(): string {
  const dir = mkdtempSync(join(tmpdir(), "selene-contracts-"));
  for (const path of ["proto", "gen", "docs", "buf.yaml", "buf.gen.yaml"]) {
    cpSync(join(root, path), join(dir, path), { recursive: true });
  }
  symlinkSync(join(root, "node_modules"), join(dir, "node_modules"));
  return dir;
}

function editTurnProto(dir: string, edit: (text: string) => string): void {
  editProto(dir, TURN_PROTO, edit);
}

function editProto(dir: string, file: string, edit: (text: string) => string): void {
  const path = join(dir, file);
  const before = readFileSync(path, "utf8");
  const after = edit(before);
  expect(after).not.to.equal(before, "the edit must change the file");
  writeFileSync(path, after);
}

describe("contract gates", function () {
  this.timeout(60_000);
  let dir: string;

  beforeEach(() => {
    dir = copyOfContracts();
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it("pass on an unchanged copy", () => {
    expect(bufLint(dir, root).ok, "lint").to.equal(true);
    expect(bufBreaking(dir, root).ok, "breaking").to.equal(true);
    expect(genDrift(dir, root).ok, "drift").to.equal(true);
    expect(ruleGate(dir, root).ok, "rules").to.equal(true);
  });

  it("fail the rule gate on a tightened rule buf lets through, naming the field path against every release", () => {
    editProto(dir, ENVELOPE_PROTO, (t) => t.replace("min_len: 1\n    max_len: 63\n", "min_len: 1\n    max_len: 32\n"));
    expect(bufBreaking(dir, root).ok, "buf sees nothing").to.equal(true);
    const result = ruleGate(dir, root);
    expect(result.ok).to.equal(false);
    for (const release of ["v1.0", "v1.1"]) {
      expect(result.output).to.contain(
        `breaks proto/releases/${release}.binpb: selene.kernel.v1.Envelope.tenant_id: string.max_len tightened ("63" -> "32")`,
      );
    }
  });

  it("fail the rule gate on a new field an old client cannot leave out", () => {
    editTurnProto(dir, (t) =>
      t.replace(
        "bool accept = 2;",
        "bool accept = 2;\n  // A note.\n  string note = 3 [(buf.validate.field).string.min_len = 1];",
      ),
    );
    const result = ruleGate(dir, root);
    expect(result.ok).to.equal(false);
    expect(result.output).to.match(/selene\.os\.v1\.\w+\.note: string\.min_len new field/);
  });

  it("let a loosened request rule through the rule gate", () => {
    editProto(dir, ENVELOPE_PROTO, (t) => t.replace("min_len: 1\n    max_len: 63\n", "min_len: 1\n    max_len: 100\n"));
    const result = ruleGate(dir, root);
    expect(result.ok, result.output).to.equal(true);
  });

  it("fail the rule gate on a loosened rule of a message old clients read in responses", () => {
    // AuditEvent is in ListEvents answers: a 1.1 reader validates them with the 1.1 rules.
    editProto(dir, AUDIT_PROTO, (t) => t.replace("max_len: 200\n", "max_len: 300\n"));
    const result = ruleGate(dir, root);
    expect(result.ok).to.equal(false);
    expect(result.output).to.contain("selene.audit.v1.AuditEvent.event_id: string.max_len loosened");
  });

  it("fail the rule gate on a reviewed entry that excuses nothing", () => {
    const path = join(dir, REVIEWED_RULE_CHANGES);
    const list = JSON.parse(readFileSync(path, "utf8"));
    list.accepted.push({
      release: "v1.1",
      subject: "selene.kernel.v1.Envelope.user_id",
      rule: "string.max_len",
      why: "-",
    });
    writeFileSync(path, JSON.stringify(list));
    const result = ruleGate(dir, root);
    expect(result.ok).to.equal(false);
    expect(result.output).to.contain("stale entry");
  });

  it("fail buf breaking when a field is deleted from a proto", () => {
    editTurnProto(dir, (t) =>
      t.replace(/\n\s*\/\/ True to perform the effect, false to decline it\.\n\s*bool accept = 2;/, ""),
    );
    const result = bufBreaking(dir, root);
    expect(result.ok).to.equal(false);
    expect(result.output).to.contain('Previously present field "2" with name "accept"');
  });

  it("fail buf breaking in the WIRE_JSON category when a field's JSON name changes", () => {
    // Binary clients would not notice a rename; a client of the Connect JSON port would.
    editTurnProto(dir, (t) => t.replace("bool accept = 2;", "bool accepted = 2;"));
    const result = bufBreaking(dir, root);
    expect(result.ok).to.equal(false);
    expect(result.output).to.contain("breaks proto/releases/v1.0.binpb (WIRE_JSON)");
    expect(result.output).to.contain("breaks proto/releases/v1.1.binpb (WIRE_JSON)");
    expect(result.output).to.match(/json_name|JSON name/);
  });

  it("check every release image: v1.0 and v1.1 are both recorded", () => {
    expect(releaseImages(dir)).to.deep.equal(["proto/releases/v1.0.binpb", "proto/releases/v1.1.binpb"]);
  });

  it("fail buf breaking against the release that has what a change removes, even when an older one lacks it", () => {
    // ListChains came in 1.1: removing it breaks v1.1's clients, not v1.0's.
    editProto(dir, AUDIT_PROTO, (t) => t.replace(/\n\s*\/\/ ListChains lists[^\n]*\n\s*rpc ListChains\([^}]*\}/, ""));
    const result = bufBreaking(dir, root);
    expect(result.ok).to.equal(false);
    expect(result.output).to.contain("breaks proto/releases/v1.1.binpb");
    expect(result.output).not.to.contain("breaks proto/releases/v1.0.binpb");
    expect(result.output).to.contain('Previously present RPC "ListChains"');
  });

  it("fail the drift check when a proto changes and gen/ is not regenerated", () => {
    editTurnProto(dir, (t) =>
      t.replace("bool accept = 2;", "bool accept = 2;\n  // A note for the user.\n  string note = 3;"),
    );
    const result = genDrift(dir, root);
    expect(result.ok).to.equal(false);
    expect(result.output).to.contain("differs: gen/es/selene/os/v1/turn_pb.ts");
    expect(result.output).to.contain("differs: gen/python/selene/os/v1/turn_pb2.py");
  });

  it("let an additive change through buf breaking", () => {
    editTurnProto(dir, (t) =>
      t.replace("bool accept = 2;", "bool accept = 2;\n  // A note for the user.\n  string note = 3;"),
    );
    expect(bufBreaking(dir, root).ok).to.equal(true);
  });

  it("fail buf lint on a field named against the style guide", () => {
    editTurnProto(dir, (t) => t.replace("bool accept = 2;", "bool acceptNow = 2;"));
    expect(bufLint(dir, root).ok).to.equal(false);
  });
});
