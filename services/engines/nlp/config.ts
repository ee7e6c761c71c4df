/** The nlp engine's configuration: the only reader of its environment. */
import { type Env, readServiceConfig, type ServiceConfig } from "../../runtime/service-config.js";

/** Reads the nlp engine's settings. */
export function readNlpConfig(env: Env): ServiceConfig {
  return readServiceConfig(env, "nlp");
}
