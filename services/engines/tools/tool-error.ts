/**
 * The one error the tools engine's logic throws: a request it cannot answer, with a stable code.
 * None is retryable (the same arguments fail the same way); the server maps every code to the
 * reason FIELD_INVALID with `argument` as the field path. Callers and tests branch on `code`.
 */

/** Why a read was refused. */
export type ToolErrorCode =
  /** Two units of different dimensions, such as km to kg. */
  | "INCOMPATIBLE_UNITS"
  /** A unit id outside the conversion table. */
  | "UNKNOWN_UNIT"
  /** A value that is not a plain decimal number, or is below absolute zero. */
  | "INVALID_VALUE"
  /** A time zone that Intl does not know. */
  | "UNKNOWN_TIMEZONE"
  /** A required argument is absent or empty. */
  | "MISSING_ARGUMENT"
  /** An argument the capability does not take. */
  | "UNKNOWN_ARGUMENT"
  /** A capability this engine does not serve. */
  | "UNKNOWN_CAPABILITY";

/** A read the tools engine refuses, with a stable code and the offending argument. */
export class ToolError extends Error {
  override readonly name = "ToolError";
  /** Why the read was refused. */
  readonly code: ToolErrorCode;
  /** The argument at fault, such as "from_unit"; "" when none is. */
  readonly argument: string;

  constructor(code: ToolErrorCode, argument: string, message: string) {
    super(message);
    this.code = code;
    this.argument = argument;
  }
}
