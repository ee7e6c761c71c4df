/** The reminders engine's composition root: config -> logger -> db -> serve -> drain. */
import { createDatabasePool } from "../../runtime/database-pool.js";
import { createLogger } from "../../runtime/logger.js";
import { serveEngine } from "../../runtime/serve-engine.js";
import { assertServiceLogin } from "../../runtime/service-login.js";
import { readRemindersConfig } from "./config.js";
import { createReminderStore } from "./reminder-store.js";
import { createRemindersEngine } from "./reminders-engine.js";

const config = readRemindersConfig(process.env);
const logger = createLogger("reminders", config.logLevel);
const pool = createDatabasePool(config.databaseUrl, logger);
await assertServiceLogin(pool);
await serveEngine(config, logger, createRemindersEngine(createReminderStore(pool)), () => pool.end());
