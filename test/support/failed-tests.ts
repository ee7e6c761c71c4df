/**
 * Counts the tests that failed in this mocha run (a root hook plugin, loaded by .mocharc.json's
 * `require`), so that a fixture can tell whether a test failed while it was up and keep what it
 * would otherwise delete: the test mesh keeps its processes' logs then.
 */
let failed = 0;

/** How many tests have failed so far in this run. */
export function testsFailed(): number {
  return failed;
}

/** Mocha's root hooks: counted after every test. */
export const mochaHooks = {
  afterEach(this: Mocha.Context): void {
    if (this.currentTest?.state === "failed") failed += 1;
  },
};
