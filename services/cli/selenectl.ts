#!/usr/bin/env node
/**
 * selenectl: the operators' command line. Each command lives in its own
 * module; this file only maps command words to them.
 */
import { auditTailCommand } from "./audit-tail-command.js";
import { auditVerifyCommand } from "./audit-verify-command.js";
import { breakGlassCloseCommand, breakGlassOpenCommand, breakGlassStatusCommand } from "./break-glass-command.js";
import { type CliOutput, type Command, EXIT, UsageError } from "./command.js";
import { engineConformanceCommand } from "./engine-conformance-command.js";
import { enginesCommand } from "./engines-command.js";
import { provenanceVerifyCommand } from "./provenance-verify-command.js";
import { replayCommand } from "./replay-command.js";

/** Command words -> command. Add a command here and nowhere else. */
const COMMANDS: Readonly<Record<string, Command>> = {
  replay: replayCommand,
  "audit verify": auditVerifyCommand,
  "audit tail": auditTailCommand,
  "provenance verify": provenanceVerifyCommand,
  "break-glass open": breakGlassOpenCommand(),
  "break-glass close": breakGlassCloseCommand(),
  "break-glass status": breakGlassStatusCommand(),
  engines: enginesCommand,
  "engine conformance": engineConformanceCommand,
};

function usage(): string {
  const lines = Object.entries(COMMANDS).map(
    ([words, command]) => `  selenectl ${words.padEnd(18)} ${command.summary}`,
  );
  return ["usage:", ...lines].join("\n");
}

/** Runs selenectl with `argv` (without node and the script) and returns the exit code. */
export async function selenectl(argv: readonly string[], io: CliOutput): Promise<number> {
  // Commands are one or two words ("replay", "audit verify"): the longest match wins.
  const two = argv.slice(0, 2).join(" ");
  const words = two in COMMANDS ? two : (argv[0] ?? "");
  const command = COMMANDS[words];
  if (command === undefined) {
    io.err(
      argv.length === 0 || argv[0] === "--help"
        ? usage()
        : `selenectl: unknown command "${argv.join(" ")}"\n${usage()}`,
    );
    return argv[0] === "--help" ? EXIT.ok : EXIT.usage;
  }
  try {
    return await command.run(argv.slice(words.split(" ").length), io);
  } catch (err) {
    if (err instanceof UsageError) {
      io.err(`selenectl ${words}: ${err.message}`);
      return EXIT.usage;
    }
    throw err;
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const io: CliOutput = {
    out: (text) => process.stdout.write(`${text}\n`),
    err: (text) => process.stderr.write(`${text}\n`),
    errIsTty: process.stderr.isTTY === true,
  };
  process.exitCode = await selenectl(process.argv.slice(2), io);
}
