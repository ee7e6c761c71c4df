/** Why migrate refused to run: a stable code, the service and version at fault, a message for operators. */

/** Why migrate refused to run. */
export type MigrationErrorCode =
  /** An applied file's content no longer matches the checksum recorded when it was applied. */
  | "MIGRATION_CHECKSUM_MISMATCH"
  /** A file name is not NNNN_<name>.sql, or two files share a number. */
  | "MIGRATION_INVALID_FILE"
  /** The service name is not a plain identifier, or it has no migrations folder. */
  | "MIGRATION_UNKNOWN_SERVICE"
  /** A migration's SQL failed; its transaction was rolled back. */
  | "MIGRATION_FAILED"
  /** The role of the DATABASE_URL lacks a privilege migrations need; the message names it. */
  | "MIGRATION_PRIVILEGE_MISSING"
  /** The grants matrix names an object the migrations did not create. */
  | "MIGRATION_GRANTS_MISMATCH";

/** Thrown by migrate; `code` is stable, the message is for operators. */
export class MigrationError extends Error {
  override readonly name = "MigrationError";
  /** What went wrong. */
  readonly code: MigrationErrorCode;
  /** The service whose migrations were running. */
  readonly service: string;
  /** The migration at fault, such as "0001_reminders"; "" when none is. */
  readonly version: string;

  constructor(code: MigrationErrorCode, service: string, version: string, message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.code = code;
    this.service = service;
    this.version = version;
  }
}
