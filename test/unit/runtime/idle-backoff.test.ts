import { expect } from "chai";
import { createIdleBackoff } from "../../../services/runtime/idle-backoff.js";

describe("idle backoff", () => {
  it("waits minMs after work and after the first empty poll, then doubles up to maxMs", () => {
    const idle = createIdleBackoff({ minMs: 100, maxMs: 1000 });
    expect([3, 0, 0, 0, 0, 0, 0].map((found) => idle.next(found))).to.deep.equal([100, 100, 200, 400, 800, 1000, 1000]);
  });

  it("starts again from minMs after work or a reset", () => {
    const idle = createIdleBackoff({ minMs: 100, maxMs: 1000 });
    for (let i = 0; i < 6; i++) idle.next(0);
    expect(idle.next(1)).to.equal(100);
    for (let i = 0; i < 6; i++) idle.next(0);
    idle.reset();
    expect([idle.next(0), idle.next(0)]).to.deep.equal([100, 200]);
  });

  it("refuses bounds that are not 0 < minMs <= maxMs", () => {
    expect(() => createIdleBackoff({ minMs: 0, maxMs: 10 })).to.throw(/minMs/);
    expect(() => createIdleBackoff({ minMs: 20, maxMs: 10 })).to.throw(/minMs/);
  });
});
