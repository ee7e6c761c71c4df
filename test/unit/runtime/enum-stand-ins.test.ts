/**
 * The gate on enum values added after a release: every value of today's contracts that a release
 * lacks must declare a chain of stand-ins that reaches a value of that release, for every image in
 * proto/releases/. It reads every generated file under gen/es/selene, so a new package or enum
 * is walked without being listed here.
 */
import { readFileSync } from "node:fs";
import { relative } from "node:path";
import { create, createFileRegistry, type DescEnum, type FileRegistry, setExtension } from "@bufbuild/protobuf";
import { nestedTypes } from "@bufbuild/protobuf/reflect";
import { EnumValueOptionsSchema, FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import { expect } from "chai";
import { stand_in } from "../../../gen/es/selene/kernel/v1/evolution_pb.js";
import { ReasonCode, ReasonCodeSchema } from "../../../gen/es/selene/kernel/v1/reason_pb.js";
import { releaseImages } from "../../../scripts/contract-checks.js";
import { declaredStandIn, resolveStandIn, standInTable } from "../../../services/runtime/enum-stand-ins.js";
import { imageRegistry } from "../../../services/runtime/release-surface.js";
import { generatedFiles } from "../../support/generated-files.js";

/** Every enum of today's contracts, from every generated file. */
async function todaysEnums(): Promise<DescEnum[]> {
  const enums: DescEnum[] = [];
  for (const file of await generatedFiles())
    for (const type of nestedTypes(file)) if (type.kind === "enum") enums.push(type);
  return enums.sort((a, b) => (a.typeName < b.typeName ? -1 : 1));
}

/** Each value a release lacks with no chain of stand-ins to one it has, named. */
function gaps(enums: readonly DescEnum[], release: FileRegistry, name: string): string[] {
  const out: string[] = [];
  for (const desc of enums) {
    // An enum the release did not have is only held by fields it lacks: they never reach its callers.
    const old = release.getEnum(desc.typeName);
    if (old === undefined) continue;
    for (const value of desc.values) {
      if (old.value[value.number] !== undefined) continue;
      const standIn = resolveStandIn(desc, value, old);
      if (!standIn.ok)
        out.push(
          `${name}: ${desc.typeName}.${value.name} has no stand-in ${name} has (followed ${standIn.chain.join(" -> ")})`,
        );
    }
  }
  return out;
}

/** A one-enum file whose values declare the given stand-ins (name -> stand-in name). */
function anEnum(values: ReadonlyArray<readonly [string, number, string?]>): DescEnum {
  const file = create(FileDescriptorProtoSchema, {
    name: "t.proto",
    package: "t",
    syntax: "proto3",
    enumType: [
      {
        name: "E",
        value: values.map(([name, number, standIn]) => {
          const options = create(EnumValueOptionsSchema);
          if (standIn !== undefined) setExtension(options, stand_in, standIn);
          return { name, number, options };
        }),
      },
    ],
  });
  return createFileRegistry(file, () => undefined).getEnum("t.E")!;
}

describe("enum values added after a release (stand-ins)", () => {
  it("gives every value a release lacks a chain of stand-ins to a value of that release, for every release image", async () => {
    const enums = await todaysEnums();
    expect(enums.map((e) => e.typeName)).to.include.members([
      "selene.kernel.v1.ReasonCode",
      "selene.kernel.v1.ConflictRule",
    ]);
    const images = releaseImages(process.cwd());
    expect(images.length, "release images in proto/releases").to.be.greaterThan(0);
    const found = images.flatMap((path) =>
      gaps(enums, imageRegistry(readFileSync(path)), relative("proto/releases", path).replace(/\.binpb$/, "")),
    );
    expect(found).to.deep.equal([]);
  });

  it("names only values of the same enum as stand-ins", async () => {
    const wrong: string[] = [];
    for (const desc of await todaysEnums())
      for (const value of desc.values) {
        const name = declaredStandIn(value);
        if (name !== undefined && !desc.values.some((v) => v.name === name && v !== value))
          wrong.push(`${desc.typeName}.${value.name} -> ${name}`);
      }
    expect(wrong).to.deep.equal([]);
  });

  it("names the value when it has no stand-in the release has, and stops at a cycle", () => {
    const release = anEnum([
      ["E_UNSPECIFIED", 0],
      ["E_A", 1],
    ]);
    const today = anEnum([
      ["E_UNSPECIFIED", 0],
      ["E_A", 1],
      ["E_B", 2, "E_C"],
      ["E_C", 3],
      ["E_D", 4, "E_E"],
      ["E_E", 5, "E_D"],
      ["E_F", 6, "E_B"],
      ["E_G", 7, "E_A"],
    ]);
    const at = (name: string) => resolveStandIn(today, today.values.find((v) => v.name === name)!, release);
    expect(at("E_B")).to.deep.equal({ ok: false, chain: ["E_B", "E_C"] });
    expect(at("E_D")).to.deep.equal({ ok: false, chain: ["E_D", "E_E"] });
    expect(at("E_F")).to.deep.equal({ ok: false, chain: ["E_F", "E_B", "E_C"] });
    const g = at("E_G");
    expect(g.ok && g.value.name).to.equal("E_A");
    expect(gaps([today], createFileRegistry(), "vX")).to.deep.equal([]); // an enum the release did not have
    expect([...standInTable(today, release)]).to.deep.equal([[7, 1]]);
  });

  it("follows a chain through a later value to one the release has", () => {
    const release = anEnum([
      ["E_UNSPECIFIED", 0],
      ["E_A", 1],
    ]);
    const today = anEnum([
      ["E_UNSPECIFIED", 0],
      ["E_A", 1],
      ["E_B", 2, "E_A"],
      ["E_C", 3, "E_B"],
    ]);
    expect([...standInTable(today, release)]).to.deep.equal([
      [2, 1],
      [3, 1],
    ]);
  });

  it("maps the reasons added after 1.1 to the 1.1 reasons of closest meaning", () => {
    const v1_1 = imageRegistry(readFileSync("proto/releases/v1.1.binpb")).getEnum(ReasonCodeSchema.typeName)!;
    expect(Object.fromEntries(standInTable(ReasonCodeSchema, v1_1))).to.deep.equal({
      [ReasonCode.PROVENANCE_STALE]: ReasonCode.ENGINE_REJECTED,
      [ReasonCode.ENGINE_CIRCUIT_OPEN]: ReasonCode.ENGINE_UNAVAILABLE,
      [ReasonCode.ENGINE_BUSY]: ReasonCode.OVERLOADED,
    });
    const v1_0 = imageRegistry(readFileSync("proto/releases/v1.0.binpb")).getEnum(ReasonCodeSchema.typeName)!;
    expect(standInTable(ReasonCodeSchema, v1_0).get(ReasonCode.AUDIT_EVENT_CONFLICT)).to.equal(
      ReasonCode.IDEMPOTENCY_KEY_REUSED,
    );
  });
});
