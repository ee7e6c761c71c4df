/**
 * The one error the load and chaos command lines turn into a one-line message and exit code 2: a
 * bad flag, or a bad field in a corpus, SLO or profile file. `field` names what to fix.
 */

/** Exit code of a run refused for bad input (flags or files). */
export const USAGE_EXIT_CODE = 2;

/** A bad flag or file field; the message is printed as is, on one line. */
export class UsageError extends Error {
  override readonly name = "UsageError";
  /** The flag or the file field at fault, such as "--rps" or "deploy/slo.yaml: budgets[2].p99". */
  readonly field: string;

  constructor(field: string, problem: string) {
    super(`${field}: ${problem}`);
    this.field = field;
  }
}
