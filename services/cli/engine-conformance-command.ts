/**
 * selenectl engine conformance --target HOST:PORT --engine NAME [--pki DIR] [--spiffe-id ID]
 * [--samples FILE] [--catalog FILE] [--report-dir DIR]: the engine conformance suite
 * (conformance/, docs/ENGINES.md), the same program as `npm run conformance`: the same options,
 * progress lines, reports and exit codes (0 every case passed or skipped, 1 a case failed, 2 bad
 * usage).
 */
import { conformanceMain } from "../../conformance/conformance-cli.js";
import type { Command } from "./command.js";

/** The command. */
export const engineConformanceCommand: Command = {
  summary: "check an engine against the engine contract, as the router calls it (JSON and JUnit reports)",
  run: (args, io) => conformanceMain(args, io.out, "selenectl engine conformance", io.err),
};
