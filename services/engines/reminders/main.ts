/** The reminders engine's composition root: config -> logger -> db -> serve -> drain. */
import pg from "pg";
import { createLogger } from "../../runtime/logger.js";
import { serveEngine } from "../../runtime/serve-engine.js";
import { assertServiceLogin } from "../../runtime/service-login.js";
import { readRemindersConfig } from "./config.js";
import { createReminderStore } from "./reminder-store.js";
import { createRemindersEngine } from "./reminders-engine.js";

const config = readRemindersConfig(process.env);
const logger = createLogger("reminders", config.logLevel);
const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 10 });
await assertServiceLogin(pool);
pool.on("error", (err) => logger.error({ err }, "idle database client failed"));
await serveEngine(config, logger, createRemindersEngine(createReminderStore(pool)), () => pool.end());
