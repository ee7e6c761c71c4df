/**
 * Prints one digest of every question the clarify corpus asks, as this process decides them:
 * run in child processes under other time zones and locales, it must print the parent's digest.
 */
import { toBinary } from "@bufbuild/protobuf";
import { ClarifySchema } from "../../gen/es/selene/kernel/v1/clarify_pb.js";
import { understand } from "../../services/engines/nlp/understand.js";
import { sha256Digest } from "../../services/runtime/content-digest.js";
import { blockingFieldNames, projectClarifyPolicy } from "../../services/runtime/policy/clarify-policy.js";
import { chooseClarify } from "../../services/runtime/turn-decisions/clarify-rule.js";
import { clarifyCorpus } from "./clarify-corpus.js";

/** The digest of the corpus's questions: each case's Clarify bytes (or "-"), in corpus order. */
export function corpusQuestionsDigest(): string {
  const policy = projectClarifyPolicy();
  const parts = clarifyCorpus().map((c) => {
    const u = understand(c.utterance);
    const choice =
      u === undefined ? undefined : chooseClarify(policy, u, blockingFieldNames(policy, u.intent), c.locale);
    return choice === undefined ? "-" : Buffer.from(toBinary(ClarifySchema, choice.clarify)).toString("hex");
  });
  return sha256Digest(parts.join("\n"));
}

if (import.meta.url === `file://${process.argv[1]}`) process.stdout.write(`${corpusQuestionsDigest()}\n`);
