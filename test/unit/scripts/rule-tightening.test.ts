import { expect } from "chai";
import { tightenings } from "../../../scripts/rule-tightening.js";

// Rules as canonical JSON (proto names), as the gate reads them from each image's descriptors.
const rules = (r: object) => r as Parameters<typeof tightenings>[0];

describe("rule tightening (the semantic contract gate)", () => {
  const tenant = rules({ string: { min_len: "1", max_len: "63", pattern: "^[a-z0-9-]+$" } });

  it("finds nothing between equal rules", () => {
    expect(tightenings(tenant, tenant)).to.deep.equal([]);
  });

  it("finds a shorter max_len and a longer min_len, naming the rule path and both values", () => {
    const after = rules({ string: { min_len: "2", max_len: "32", pattern: "^[a-z0-9-]+$" } });
    expect(tightenings(tenant, after)).to.deep.equal([
      ["string.max_len", '"63"', '"32"'],
      ["string.min_len", '"1"', '"2"'],
    ]);
  });

  it("lets loosened bounds, a removed pattern and a removed rule through", () => {
    expect(tightenings(tenant, rules({ string: { max_len: "128" } }))).to.deep.equal([]);
    expect(tightenings(rules({ required: true }), rules({}))).to.deep.equal([]);
  });

  it("finds a new required flag and a new bound where there was none", () => {
    expect(tightenings(rules({}), rules({ required: true }))).to.deep.equal([["required", "(none)", "true"]]);
    expect(tightenings(rules({ bytes: {} }), rules({ bytes: { max_len: "49152" } }))).to.deep.equal([
      ["bytes.max_len", "(none)", '"49152"'],
    ]);
  });

  it("treats any changed pattern as narrower (it cannot prove otherwise)", () => {
    const after = rules({ string: { min_len: "1", max_len: "63", pattern: "^[a-z]+$" } });
    expect(tightenings(tenant, after)).to.deep.equal([["string.pattern", '"^[a-z0-9-]+$"', '"^[a-z]+$"']]);
  });

  it("finds a value added to enum not_in and one dropped from in, not the reverse", () => {
    expect(tightenings(rules({ enum: { not_in: [0] } }), rules({ enum: { not_in: [0, 3] } }))).to.have.length(1);
    expect(tightenings(rules({ enum: { not_in: [0, 3] } }), rules({ enum: { not_in: [0] } }))).to.deep.equal([]);
    expect(tightenings(rules({ enum: { in: [1, 2] } }), rules({ enum: { in: [1] } }))).to.have.length(1);
    expect(tightenings(rules({ enum: { in: [1] } }), rules({ enum: { in: [1, 2] } }))).to.deep.equal([]);
    expect(tightenings(rules({ enum: {} }), rules({ enum: { defined_only: true } }))).to.deep.equal([
      ["enum.defined_only", "(none)", "true"],
    ]);
  });

  it("orders numeric bounds across gt and gte, lt and lte", () => {
    expect(tightenings(rules({ uint32: { gte: 1 } }), rules({ uint32: { gt: 1 } }))).to.deep.equal([
      ["uint32.gt", "1", "1"],
    ]);
    expect(tightenings(rules({ uint32: { gt: 1 } }), rules({ uint32: { gte: 1 } }))).to.deep.equal([]);
    expect(tightenings(rules({ int64: { lte: "999" } }), rules({ int64: { lt: "999" } }))).to.have.length(1);
    expect(tightenings(rules({ int64: { lte: "999" } }), rules({ int64: { lte: "1000" } }))).to.deep.equal([]);
    expect(tightenings(rules({ int64: { lte: "999" } }), rules({ int64: { lte: "998" } }))).to.deep.equal([
      ["int64.lte", '"999"', '"998"'],
    ]);
  });

  it("looks inside repeated items and map keys and values", () => {
    const before = rules({ repeated: { max_items: "10", items: { string: { max_len: "64" } } } });
    const after = rules({ repeated: { max_items: "10", items: { string: { max_len: "16" } } } });
    expect(tightenings(before, after)).to.deep.equal([["repeated.items.string.max_len", '"64"', '"16"']]);
    const map = rules({ map: { values: { string: { max_len: "1024" } } } });
    expect(tightenings(map, rules({ map: { max_pairs: "8", values: { string: { max_len: "1024" } } } }))).to.deep.equal(
      [["map.max_pairs", "(none)", '"8"']],
    );
  });

  it("finds a CEL rule added or changed, by id", () => {
    const cel = (expression: string) => rules({ cel: [{ id: "a", message: "m", expression }] });
    expect(tightenings(rules({}), cel("this > 1"))).to.deep.equal([["cel[id=a]", "(none)", '"this > 1"']]);
    expect(tightenings(cel("this > 1"), cel("this > 2"))).to.have.length(1);
    expect(tightenings(cel("this > 1"), rules({}))).to.deep.equal([]);
  });

  it("finds ignore weakened: rules that skipped empty values now apply to them", () => {
    const skip = rules({ ignore: "IGNORE_IF_ZERO_VALUE", string: { min_len: "1" } });
    const always = rules({ string: { min_len: "1" } });
    expect(tightenings(skip, always)).to.deep.equal([["ignore", '"IGNORE_IF_ZERO_VALUE"', "(none)"]]);
    expect(tightenings(always, skip)).to.deep.equal([]);
  });
});
