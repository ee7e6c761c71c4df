/** The tools engine's configuration: the only reader of its environment. */
import { type Env, readServiceConfig, type ServiceConfig } from "../../runtime/service-config.js";

/** Reads the tools engine's settings. */
export function readToolsConfig(env: Env): ServiceConfig {
  return readServiceConfig(env, "tools");
}
