/** The nlp engine's composition root: config -> logger -> phrase book -> serve -> drain. */
import { createLogger } from "../../runtime/logger.js";
import { serveEngine } from "../../runtime/serve-engine.js";
import { readNlpConfig } from "./config.js";
import { createNlpEngine } from "./nlp-engine.js";
import { projectPhraseBook } from "./phrase-book.js";

const config = readNlpConfig(process.env);
const logger = createLogger("nlp", config.logLevel);
// Read and checked before serving: a bad phrase book stops the engine at start, naming the place.
const phrases = projectPhraseBook();
logger.info({ rules: phrases.rules.length, digest: phrases.digest }, "phrase book loaded");
await serveEngine(config, logger, createNlpEngine(phrases));
