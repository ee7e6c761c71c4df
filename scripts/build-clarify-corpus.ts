/**
 * Writes the clarify corpus (test/fixtures/clarify/*.json) from hand-written base cases and their
 * spelling variants. The expected question of every case is decided HERE, from the base case's
 * declared missing field and the question table below (written out by hand, not read from the
 * policy file or computed by the code under test), so the corpus test fails when the policy's
 * words, its priority or what counts as missing change. Review the diff of the fixtures after any
 * change here; run with `npx tsx scripts/build-clarify-corpus.ts`.
 */
import { writeFileSync } from "node:fs";
import { join } from "node:path";

/** The questions the corpus expects, per capability, field and locale. */
const QUESTIONS: Record<string, Record<string, Record<string, readonly [string, readonly string[]]>>> = {
  "reminders.create": {
    text: {
      en: ["What should I remind you about?", ["call mom", "take out the trash", "stretch"]],
      fr: ["De quoi dois-je vous faire penser ?", ["appeler maman", "sortir les poubelles"]],
    },
    when: {
      en: ["When should I remind you?", ["at 9am", "tomorrow at 5pm", "in 20 minutes"]],
      fr: ["Quand dois-je vous le rappeler ?", ["à 9 h", "demain à 17 h", "dans 20 minutes"]],
    },
  },
  "reminders.cancel": {
    reminder_id: {
      en: ["Which reminder should I cancel?", ["r-42", "r-7"]],
      fr: ["Quel rappel dois-je annuler ?", ["r-42", "r-7"]],
    },
  },
  "messages.send": {
    recipient: {
      en: ["Who should I send the message to?", ["Ana", "Bob"]],
      fr: ["À qui dois-je envoyer le message ?", ["Ana", "Bob"]],
    },
    body: {
      en: ["What should the message say?", ["I'm running late", "See you at noon"]],
      fr: ["Que doit dire le message ?", ["J'ai du retard", "À midi"]],
    },
  },
  "tools.lookup": {
    query: {
      en: ["What would you like me to look up?", ["What is the capital of France?", "Who wrote Hamlet?"]],
      fr: ["Que voulez-vous que je cherche ?", ["Quelle est la capitale de la France ?"]],
    },
  },
  "tools.convert": {
    value: {
      en: ["How much should I convert?", ["5", "3.5", "100"]],
      fr: ["Quelle quantité dois-je convertir ?", ["5", "3,5", "100"]],
    },
    from_unit: {
      en: ["Which unit should I convert from?", ["km", "kg", "Celsius"]],
      fr: ["Depuis quelle unité dois-je convertir ?", ["km", "kg", "Celsius"]],
    },
    to_unit: {
      en: ["Which unit should I convert to?", ["miles", "pounds", "Fahrenheit"]],
      fr: ["Vers quelle unité dois-je convertir ?", ["miles", "livres", "Fahrenheit"]],
    },
  },
  "calc.evaluate": {
    expression: {
      en: ["What should I calculate?", ["12 * 7", "(3 + 4) / 2"]],
      fr: ["Que dois-je calculer ?", ["12 * 7", "(3 + 4) / 2"]],
    },
  },
  "notes.add": {
    text: {
      en: ["What should the note say?", ["buy milk", "call the plumber"]],
      fr: ["Que doit dire la note ?", ["acheter du lait", "appeler le plombier"]],
    },
  },
};

/** A base case: the utterance, the intent it must be read as (null: none), the field asked (null: none). */
type Base = readonly [utterance: string, intent: string | null, field: string | null, note: string];

const BASES: readonly Base[] = [
  // reminders.create: text before when; both missing asks for the text.
  ["remind me", "reminders.create", "text", "both missing: text ranks first"],
  ["remind me to call mom", "reminders.create", "when", "time missing"],
  ["remind me at 5pm", "reminders.create", "text", "text missing"],
  ["remind me to call mom at 5pm", "reminders.create", null, "complete"],
  ["remind me tomorrow at 9am to water the plants", "reminders.create", null, "time first"],
  ["set a reminder", "reminders.create", "text", "both missing"],
  ["set a reminder for tomorrow", "reminders.create", "text", "only a time"],
  ["remind me in 20 minutes", "reminders.create", "text", "only a time"],
  ["remind me to stretch in 20 minutes", "reminders.create", null, "complete, relative time"],
  ["remind me to call José at noon", "reminders.create", null, "accented text"],
  ["remind me to call José", "reminders.create", "when", "accented text, time missing"],
  ["remind me to -- at 5pm", "reminders.create", "text", "invalid text: no letter or digit"],
  ["remind me to \u200b at 5pm", "reminders.create", "text", "empty text: a zero-width space only"],
  ["remind me to позвонить маме at 5pm", "reminders.create", null, "Cyrillic text"],
  ["remind me to 買い物 tomorrow", "reminders.create", null, "Japanese text"],
  ["remind me to pay the café bill", "reminders.create", "when", "accented text"],
  ["new reminder", "reminders.create", "text", "both missing"],
  ["remind me to buy crème brûlée on friday", "reminders.create", null, "accents and a weekday"],
  ["remind me later", "reminders.create", "when", "'later' is text, not a time"],
  ["remind me to call Ζωή in 2 hours", "reminders.create", null, "Greek text"],
  ["remind me to call mom at 5pm and Παύλος", "reminders.create", "when", "mixed scripts after the time"],
  // reminders.cancel
  ["cancel reminder r-42", "reminders.cancel", null, "complete"],
  ["cancel the reminder", "reminders.cancel", "reminder_id", "id missing"],
  ["cancel reminder it", "reminders.cancel", "reminder_id", "ambiguous id"],
  ["delete my reminder", "reminders.cancel", "reminder_id", "id missing"],
  ["remove reminder #7", "reminders.cancel", null, "complete, #id"],
  ["cancel reminder all", "reminders.cancel", "reminder_id", "ambiguous id"],
  ["cancel the reminder to call mom", "reminders.cancel", "reminder_id", "text instead of an id"],
  ["cancel reminder number 12", "reminders.cancel", null, "complete, number"],
  ["cancel reminder this", "reminders.cancel", "reminder_id", "ambiguous id"],
  // messages.send: recipient before body.
  ["send a message", "messages.send", "recipient", "both missing: recipient ranks first"],
  ["text Bob", "messages.send", "body", "body missing"],
  ["text Bob saying I'm late", "messages.send", null, "complete"],
  ["send a message to Ana saying see you at noon", "messages.send", null, "complete"],
  ["text him saying hi", "messages.send", "recipient", "ambiguous recipient"],
  ["message someone saying hello", "messages.send", "recipient", "ambiguous recipient"],
  ["text Алексей saying привет", "messages.send", null, "Cyrillic"],
  ["send a text to Zoë", "messages.send", "body", "accented recipient, body missing"],
  ["text Bob: --", "messages.send", "body", "invalid body"],
  ["text them: running late", "messages.send", "recipient", "ambiguous recipient, body given"],
  // tools.lookup
  ["what is the capital of France", "tools.lookup", null, "complete"],
  ["who wrote Hamlet", "tools.lookup", null, "complete"],
  ["look up", "tools.lookup", "query", "query missing"],
  ["tell me about", "tools.lookup", "query", "query missing"],
  ["search for", "tools.lookup", "query", "query missing"],
  ["what is the capital of Brasil", "tools.lookup", null, "complete (unknown to the knowledge base)"],
  ["tell me about Zürich", "tools.lookup", null, "accented query"],
  // tools.time: nothing blocks it.
  ["what time is it", "tools.time", null, "no blocking field"],
  ["what time is it in Tokyo", "tools.time", null, "optional zone"],
  // tools.convert: value, from_unit, to_unit.
  ["convert", "tools.convert", "value", "all three missing: value ranks first"],
  ["convert 5 km", "tools.convert", "to_unit", "target missing"],
  ["convert km to miles", "tools.convert", "value", "value missing"],
  ["convert 5 km to miles", "tools.convert", null, "complete"],
  ["how many feet in 3 meters", "tools.convert", null, "complete"],
  ["convert 5", "tools.convert", "from_unit", "units missing: from_unit ranks first"],
  ["convert 3.5 kg to pounds", "tools.convert", null, "complete"],
  ["what is 100 celsius in fahrenheit", "tools.convert", null, "complete"],
  ["convert to miles", "tools.convert", "value", "value and source unit missing"],
  ["convert 20 to kg", "tools.convert", "from_unit", "source unit missing"],
  // calc.evaluate
  ["calculate", "calc.evaluate", "expression", "expression missing"],
  ["calculate 12 * 7", "calc.evaluate", null, "complete"],
  ["what is 12 * 7", "calc.evaluate", null, "complete"],
  ["compute (3 + 4) / 2", "calc.evaluate", null, "complete"],
  ["12 plus 7", "calc.evaluate", null, "complete, words"],
  ["solve", "calc.evaluate", "expression", "expression missing"],
  ["evaluate 2 ^ 10", "calc.evaluate", null, "complete"],
  // Not understood.
  ["hello there", null, null, "no intent"],
  ["r\u0435mind me", null, null, "Cyrillic е inside 'remind': no intent"],
  // notes.add (the example notes engine's capability, from the phrase book alone); appended last so
  // the ids of the cases above keep their numbers.
  ["take a note", "notes.add", "text", "text missing"],
  ["take a note buy milk", "notes.add", null, "complete"],
  ["make a note that the plumber comes at 9", "notes.add", null, "complete, linking word dropped"],
  ["note down", "notes.add", "text", "text missing"],
  ["add a note saying", "notes.add", "text", "text missing after a linking word"],
  ["jot down call Ana", "notes.add", null, "complete"],
];

const FULL_WIDTH = (text: string) => text.replace(/[0-9]/g, (d) => String.fromCharCode(0xff10 + Number(d)));

/** Spelling variants of an utterance that must be read the same way. */
function variants(utterance: string): [string, string][] {
  const out: [string, string][] = [
    ["as written", utterance],
    ["upper case", utterance.toUpperCase()],
    ["extra white space", `  ${utterance.split(" ").join(" \t ")}  `],
    ["no-break and ideographic spaces", utterance.split(" ").join("\u00a0\u3000")],
    ["'please' first", `please ${utterance}`],
    ["trailing punctuation", `${utterance}?!`],
    ["NFD", utterance.normalize("NFD")],
    ["NFC", utterance.normalize("NFC")],
    ["full-width digits", FULL_WIDTH(utterance)],
  ];
  const seen = new Set<string>();
  return out.filter(([, text]) => !seen.has(text) && seen.add(text));
}

interface Entry {
  readonly id: string;
  readonly note: string;
  readonly utterance: string;
  readonly locale: string;
  readonly intent: string | null;
  readonly ask: { readonly field: string; readonly question: string; readonly examples: readonly string[] } | null;
}

function entry(id: string, note: string, utterance: string, locale: string, base: Base): Entry {
  const [, intent, field] = base;
  if (intent === null || field === null) return { id, note, utterance, locale, intent, ask: null };
  const table = QUESTIONS[intent]?.[field];
  // A locale the table lacks falls back to English, as the policy's default locale.
  const [question, examples] = table?.[locale] ?? table?.en ?? ["", []];
  return { id, note, utterance, locale, intent, ask: { field, question, examples } };
}

const groups = new Map<string, Entry[]>();
BASES.forEach((base, b) => {
  const [utterance, intent, field, note] = base;
  const group = intent ?? "not-understood";
  const list = groups.get(group) ?? [];
  for (const [variant, text] of variants(utterance)) {
    list.push(entry(`${group}/${b}/${variant}`, `${note}; ${variant}`, text, "en", base));
  }
  // Another locale for every question: French, and German (no text: the default locale's).
  if (field !== null) {
    list.push(entry(`${group}/${b}/fr`, `${note}; locale fr`, utterance, "fr", base));
    list.push(entry(`${group}/${b}/de`, `${note}; locale de falls back to en`, utterance, "de", base));
  }
  groups.set(group, list);
});

// Non-ASCII is written as \u escapes, so NFC and NFD forms differ visibly in the file.
const escapeNonAscii = (json: string) =>
  json.replace(/[\u007f-\uffff]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
const dir = join(import.meta.dirname, "..", "test", "fixtures", "clarify");
let total = 0;
for (const [group, entries] of [...groups].sort(([a], [b]) => (a < b ? -1 : 1))) {
  total += entries.length;
  writeFileSync(join(dir, `${group}.json`), `${escapeNonAscii(JSON.stringify(entries, null, 1))}\n`);
}
process.stdout.write(`${total} cases in ${groups.size} files\n`);
