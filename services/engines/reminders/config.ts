/** The reminders engine's configuration: the only reader of its environment. */
import { ConfigError, type Env, readServiceConfig, type ServiceConfig } from "../../runtime/service-config.js";

/** The reminders engine's settings. */
export interface RemindersConfig extends ServiceConfig {
  readonly databaseUrl: string;
}

/** Reads the reminders engine's settings. */
export function readRemindersConfig(env: Env): RemindersConfig {
  const databaseUrl = env.DATABASE_URL;
  if (!databaseUrl) throw new ConfigError("DATABASE_URL must be set for the reminders engine (npm start sets it)");
  return Object.freeze({ ...readServiceConfig(env, "reminders"), databaseUrl });
}
