/** The tools engine's composition root: config -> logger -> serve -> drain. */
import { createLogger } from "../../runtime/logger.js";
import { serveEngine } from "../../runtime/serve-engine.js";
import { readToolsConfig } from "./config.js";
import { createToolsEngine } from "./tools-engine.js";

const config = readToolsConfig(process.env);
const logger = createLogger("tools", config.logLevel);
await serveEngine(config, logger, createToolsEngine());
