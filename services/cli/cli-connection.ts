/**
 * How selenectl reaches the mesh: the operator's client certificate from the
 * PKI directory and each service's address, from flags, then the environment
 * (the same variables the services read), then the local defaults.
 */
import { type AuditClient, createAuditClient } from "../runtime/audit-client.js";
import { createBoundaryValidator } from "../runtime/boundary-validator.js";
import { CURRENT_CONTRACT_VERSION } from "../runtime/contract-version.js";
import { LOCAL_PORTS } from "../runtime/local-ports.js";
import { addressVariable } from "../runtime/service-config.js";
import { UsageError } from "./command.js";

/** Parsed flags: `--name value` pairs and bare words. */
export interface ParsedArgs {
  readonly flags: ReadonlyMap<string, string | true>;
  readonly words: readonly string[];
}

/** Parses `args`; `valued` lists the flags that take a value, `switches` those that do not. */
export function parseArgs(args: readonly string[], valued: readonly string[], switches: readonly string[]): ParsedArgs {
  const flags = new Map<string, string | true>();
  const words: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith("--")) {
      words.push(arg);
      continue;
    }
    const [flag, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    if (switches.includes(flag)) flags.set(flag, true);
    else if (valued.includes(flag)) {
      const value = inline ?? args[++i];
      if (value === undefined || value === "") throw new UsageError(`--${flag} needs a value`);
      flags.set(flag, value);
    } else throw new UsageError(`unknown flag --${flag}`);
  }
  return { flags, words };
}

/** The flags every command that talks to a service takes. */
export const CONNECTION_FLAGS = ["pki", "audit-addr"] as const;

/** Connects to the audit service as the operator. */
export function connectAudit(args: ParsedArgs, env = process.env): AuditClient {
  const pkiDir = (args.flags.get("pki") as string | undefined) ?? env.SELENE_PKI_DIR ?? ".selene/pki";
  const address =
    (args.flags.get("audit-addr") as string | undefined) ??
    env[addressVariable("audit")] ??
    `127.0.0.1:${LOCAL_PORTS.audit.grpc}`;
  try {
    return createAuditClient(address, pkiDir, "operator", createBoundaryValidator());
  } catch (e) {
    throw new UsageError(
      `cannot read the operator's certificate in ${pkiDir} (npm run pki issues it; --pki or SELENE_PKI_DIR ` +
        `point elsewhere): ${e instanceof Error ? e.message : String(e)}`,
    );
  }
}

/** The system envelope of an operator's read. */
export function operatorEnvelope(correlationId: string) {
  return { contractVersion: CURRENT_CONTRACT_VERSION, correlationId };
}
