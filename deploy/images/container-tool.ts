/**
 * Runs the container tools (podman, skopeo, mmdebstrap) as child processes with the project's
 * containers.conf, and turns a failure into an error that quotes the tool's last lines.
 */
import { spawn } from "node:child_process";
import { appendFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

/** The project's containers.conf (runc, explicit ulimits), unless the caller set CONTAINERS_CONF. */
export const CONTAINERS_CONF = fileURLToPath(new URL("../../../deploy/images/containers.conf", import.meta.url));

/** A tool that exited non-zero; the message ends with what it printed last. */
export class ContainerToolError extends Error {
  override readonly name = "ContainerToolError";
}

/** Options of runTool. */
export interface RunToolOptions {
  /** Appended with the tool's whole output, for a look after a failure. */
  readonly logFile?: string;
  /** Written to the tool's standard input. */
  readonly input?: string;
  /** Exit codes that count as success (default [0]). */
  readonly okCodes?: readonly number[];
  /** Variables added to the tool's environment. */
  readonly env?: Readonly<Record<string, string>>;
}

/** The environment the tools run in. */
export function toolEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, CONTAINERS_CONF: env.CONTAINERS_CONF ?? CONTAINERS_CONF };
}

/** Runs `command args`, resolving to its standard output, trimmed; rejects when it fails. */
export function runTool(command: string, args: readonly string[], options: RunToolOptions = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: { ...toolEnv(), ...options.env }, stdio: ["pipe", "pipe", "pipe"] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.on("data", (chunk: Buffer) => err.push(chunk));
    child.on("error", (e) => reject(new ContainerToolError(`${command} could not start: ${e.message}`)));
    child.on("close", (code) => {
      const stdout = Buffer.concat(out).toString("utf8");
      const stderr = Buffer.concat(err).toString("utf8");
      if (options.logFile !== undefined) {
        appendFileSync(options.logFile, `$ ${command} ${args.join(" ")}\n${stdout}${stderr}\n`);
      }
      if ((options.okCodes ?? [0]).includes(code ?? -1)) resolve(stdout.trim());
      else {
        const tail = `${stdout}${stderr}`.trim().split("\n").slice(-12).join("\n");
        reject(new ContainerToolError(`${command} ${args.slice(0, 3).join(" ")} ... exited with ${code}:\n${tail}`));
      }
    });
    child.stdin.end(options.input ?? "");
  });
}

/** Whether podman's storage holds `reference`. */
export function imageExists(reference: string): Promise<boolean> {
  return runTool("podman", ["image", "inspect", "--format", "{{.Id}}", reference]).then(
    () => true,
    () => false,
  );
}
