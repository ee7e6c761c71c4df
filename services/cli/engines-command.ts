/**
 * selenectl engines [--json] [--catalog FILE] [--pki DIR] [--timeout-ms N]: the engine catalog
 * (each engine's name, SPIFFE id, address and the capabilities the router lets it serve) and each
 * engine's live state from its health service. Addresses are the catalog's unless
 * SELENE_<NAME>_ADDR overrides them, as for the router. Exit 0 when every engine is SERVING,
 * 1 when one is not, 2 for bad usage or a catalog that does not pass its checks.
 */
import { type EngineCatalog, engineAddresses, kindName, loadEngineCatalog } from "../runtime/policy/engine-catalog.js";
import { PolicyError, policyPath } from "../runtime/policy/policy-file.js";
import { parseArgs } from "./cli-connection.js";
import { type Command, EXIT, UsageError } from "./command.js";
import { checkEngineHealth, type EngineHealth } from "./engine-health.js";

/** One engine as listed. */
interface EngineRow {
  readonly name: string;
  readonly spiffeId: string;
  readonly address: string;
  readonly capabilities: ReadonlyArray<{ readonly name: string; readonly kind: string }>;
  readonly health: EngineHealth;
}

function readCatalog(path: string): EngineCatalog {
  try {
    return loadEngineCatalog(path);
  } catch (e) {
    if (e instanceof PolicyError) throw new UsageError(e.message);
    throw e;
  }
}

function timeoutOf(value: string | true | undefined): number {
  if (value === undefined) return 1000;
  const ms = Number(value);
  if (!Number.isInteger(ms) || ms < 1 || ms > 60_000) throw new UsageError("--timeout-ms must be 1..60000");
  return ms;
}

function render(rows: readonly EngineRow[]): string {
  const lines = rows.map((row) => {
    const capabilities = row.capabilities.map((c) => `${c.name} (${c.kind})`).join(", ");
    const detail = row.health.detail === undefined ? "" : `\n    ${row.health.detail}`;
    return `${row.name.padEnd(12)} ${row.health.state.padEnd(11)} ${row.address.padEnd(21)} ${row.spiffeId}\n    ${capabilities}${detail}`;
  });
  return [`${"ENGINE".padEnd(12)} ${"STATE".padEnd(11)} ${"ADDRESS".padEnd(21)} SPIFFE ID`, ...lines].join("\n");
}

/** The command. */
export const enginesCommand: Command = {
  summary: "the engine catalog and each engine's live state (--json)",
  async run(args, io) {
    const parsed = parseArgs(args, ["catalog", "pki", "timeout-ms"], ["json"]);
    if (parsed.words.length > 0) throw new UsageError(`unexpected argument "${parsed.words[0]}"`);
    const env = process.env;
    const catalogFile =
      (parsed.flags.get("catalog") as string | undefined) ?? (env.SELENE_ENGINE_CATALOG || policyPath("engines"));
    const pkiDir = (parsed.flags.get("pki") as string | undefined) ?? env.SELENE_PKI_DIR ?? ".selene/pki";
    const timeoutMs = timeoutOf(parsed.flags.get("timeout-ms"));
    const catalog = readCatalog(catalogFile);
    const addresses = engineAddresses(catalog, env);
    const rows: EngineRow[] = await Promise.all(
      catalog.engines.map(async (engine) => {
        const address = addresses.get(engine.name) ?? engine.address;
        return {
          name: engine.name,
          spiffeId: engine.spiffeId,
          address,
          capabilities: engine.capabilities.map((c) => ({ name: c.name, kind: kindName(c.kind) })),
          health: await checkEngineHealth(engine, address, pkiDir, timeoutMs),
        };
      }),
    );
    if (parsed.flags.has("json")) {
      io.out(
        JSON.stringify(
          { catalog: { file: catalogFile, version: catalog.version, digest: catalog.digest }, engines: rows },
          null,
          2,
        ),
      );
    } else {
      io.out(`catalog ${catalogFile} (version ${catalog.version}, ${catalog.digest})`);
      io.out(render(rows));
    }
    return rows.every((row) => row.health.state === "SERVING") ? EXIT.ok : EXIT.finding;
  },
};
