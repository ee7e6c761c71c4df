/** The nlp engine's composition root: config -> logger -> serve -> drain. */
import { createLogger } from "../../runtime/logger.js";
import { serveEngine } from "../../runtime/serve-engine.js";
import { readNlpConfig } from "./config.js";
import { createNlpEngine } from "./nlp-engine.js";

const config = readNlpConfig(process.env);
const logger = createLogger("nlp", config.logLevel);
await serveEngine(config, logger, createNlpEngine());
