/**
 * The effects the reminders engine performs, as pure functions: which capabilities exist, how
 * their fields are normalised, the digest that binds a simulation to its commit, and the
 * sentences shown to the user before and after.
 */
import { canonicalJson, sha256Digest } from "../../runtime/content-digest.js";

/** The capabilities this engine serves, sorted. */
export const REMINDER_CAPABILITIES = ["reminders.cancel", "reminders.create"] as const;

/** One capability this engine serves. */
export type ReminderCapability = (typeof REMINDER_CAPABILITIES)[number];

/** The fields each capability requires (it takes no others). */
export const REMINDER_FIELDS: Readonly<Record<ReminderCapability, readonly string[]>> = {
  "reminders.cancel": ["reminder_id"],
  "reminders.create": ["text", "when"],
};

/** Canonical fields of an effect: every value a normalised, non-empty string. */
export type EffectFields = Readonly<Record<string, string>>;

/** Why the engine refused an effect; tests and the server branch on it. */
export type ReminderErrorCode =
  /** A capability this engine does not serve. */
  | "UNKNOWN_CAPABILITY"
  /** A required field is absent or empty. */
  | "MISSING_FIELD"
  /** A field the capability does not take. */
  | "UNKNOWN_FIELD"
  /** A field that is not a string, is too long, or is not in its grammar. */
  | "INVALID_FIELD"
  /** The effect digest does not match the fields it is said to cover. */
  | "EFFECT_DIGEST_MISMATCH"
  /** The idempotency key was already used, in this tenant, for a different request. */
  | "IDEMPOTENCY_KEY_REUSED"
  /** No reminder with that id belongs to the tenant and user. */
  | "REMINDER_NOT_FOUND"
  /** The reminder was already cancelled by an earlier request. */
  | "REMINDER_ALREADY_CANCELLED";

/** An effect the reminders engine refuses, with a stable code and the field at fault. */
export class ReminderError extends Error {
  override readonly name = "ReminderError";
  /** Why the effect was refused. */
  readonly code: ReminderErrorCode;
  /** The field at fault, such as "when"; "" when none is. */
  readonly field: string;

  constructor(code: ReminderErrorCode, field: string, message: string) {
    super(message);
    this.code = code;
    this.field = field;
  }
}

const MAX_TEXT_CHARS = 500;
// The canonical `when` forms produced by the NLP engine's time grammar: ISO 8601 durations
// prefixed with "+", a day with an optional HH:MM, or a bare HH:MM.
const RELATIVE = /^\+P(?:T[1-9]\d{0,3}[MH]|[1-9]\d{0,3}[DW])$/;
const ABSOLUTE =
  /^(?:(?:today|tomorrow|monday|tuesday|wednesday|thursday|friday|saturday|sunday)(?: (?:[01]\d|2[0-3]):[0-5]\d)?|(?:[01]\d|2[0-3]):[0-5]\d)$/;
const REMINDER_ID = /^r-[0-9a-f]{12}$/;
// Control characters other than whitespace (which is collapsed) have no place in a reminder.
const CONTROL = /\p{Cc}/u;
const UNIT_WORDS: Readonly<Record<string, string>> = { M: "minute", H: "hour", D: "day", W: "week" };

/** Whether a name is a capability this engine serves. */
export function isReminderCapability(capability: string): capability is ReminderCapability {
  return (REMINDER_CAPABILITIES as readonly string[]).includes(capability);
}

/** Checks and normalises an effect's fields; throws a ReminderError naming the first fault. */
export function normaliseEffect(capability: string, fields: Readonly<Record<string, unknown>>): EffectFields {
  if (!isReminderCapability(capability)) {
    throw new ReminderError("UNKNOWN_CAPABILITY", "", `capability "${capability}" is not served by this engine`);
  }
  const required = REMINDER_FIELDS[capability];
  for (const name of Object.keys(fields).sort()) {
    if (!required.includes(name)) throw new ReminderError("UNKNOWN_FIELD", name, `${capability} takes no "${name}"`);
  }
  const out: Record<string, string> = {};
  for (const name of required) {
    const raw = fields[name];
    if (raw === undefined || raw === null || raw === "") {
      throw new ReminderError("MISSING_FIELD", name, `${capability} needs "${name}"`);
    }
    if (typeof raw !== "string") throw new ReminderError("INVALID_FIELD", name, `"${name}" must be a string`);
    const value = raw.normalize("NFC").replace(/\s+/gu, " ").trim();
    if (value === "") throw new ReminderError("MISSING_FIELD", name, `${capability} needs "${name}"`);
    out[name] = normaliseField(name, value);
  }
  return Object.freeze(out);
}

/** The digest binding a simulation to its commit: sha256 of the canonical JSON of capability and (normalised) fields. */
export function effectDigest(capability: string, fields: EffectFields): string {
  return sha256Digest(canonicalJson({ capability, fields }));
}

/** A one-sentence summary of what committing the effect will do, such as `Remind you to "call mom" at tomorrow 17:00`. */
export function previewOf(capability: string, fields: EffectFields): string {
  switch (capability) {
    case "reminders.cancel":
      return `Cancel reminder ${fields.reminder_id}`;
    case "reminders.create":
      return `Remind you to ${JSON.stringify(fields.text)} ${describeWhen(fields.when ?? "")}`;
    default:
      throw new ReminderError("UNKNOWN_CAPABILITY", "", `capability "${capability}" is not served by this engine`);
  }
}

/** A one-sentence summary of an effect that was committed. */
export function summaryOf(capability: ReminderCapability, reminderId: string, text: string, due: string): string {
  if (capability === "reminders.cancel") return `Cancelled reminder ${reminderId} (${JSON.stringify(text)})`;
  return `Reminder ${reminderId} set: ${JSON.stringify(text)} ${describeWhen(due)}`;
}

/** Renders a canonical `when`: "+PT20M" as "in 20 minutes", anything else as "at <when>". */
export function describeWhen(when: string): string {
  const relative = /^\+P(?:T(\d+)([MH])|(\d+)([DW]))$/.exec(when);
  if (relative === null) return `at ${when}`;
  const amount = Number(relative[1] ?? relative[3]);
  const unit = UNIT_WORDS[relative[2] ?? relative[4]!]!;
  return `in ${amount} ${unit}${amount === 1 ? "" : "s"}`;
}

function normaliseField(name: string, value: string): string {
  switch (name) {
    case "text":
      if (CONTROL.test(value)) throw new ReminderError("INVALID_FIELD", name, "the text holds control characters");
      if ([...value].length > MAX_TEXT_CHARS) {
        throw new ReminderError("INVALID_FIELD", name, `the text is longer than ${MAX_TEXT_CHARS} characters`);
      }
      return value;
    case "when": {
      const when = value.startsWith("+") ? value.toUpperCase() : value.toLowerCase();
      if (!RELATIVE.test(when) && !ABSOLUTE.test(when)) {
        throw new ReminderError("INVALID_FIELD", name, `"${value}" is not a normalised time expression`);
      }
      return when;
    }
    case "reminder_id": {
      const id = value.replace(/^#/, "").toLowerCase();
      if (!REMINDER_ID.test(id)) throw new ReminderError("INVALID_FIELD", name, `"${value}" is not a reminder id`);
      return id;
    }
    default:
      return value;
  }
}
