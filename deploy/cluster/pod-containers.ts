/**
 * What podman says of the pods of a run: container states, exit codes, logs. Every call goes through
 * the project's containers.conf (container-tool.ts).
 */
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { runTool } from "../images/container-tool.js";

const podman = (...args: string[]) => runTool("podman", args);

/** A container's state and exit code. */
export async function containerState(name: string): Promise<{ status: string; exitCode: number }> {
  const [status = "", code = ""] = (
    await podman("container", "inspect", "--format", "{{.State.Status}} {{.State.ExitCode}}", name)
  ).split(" ");
  return { status, exitCode: Number(code) };
}

/** Waits until container `name` has exited; returns its exit code. */
export async function waitExited(name: string, deadline: number): Promise<number> {
  for (;;) {
    const state = await containerState(name);
    if (state.status === "exited" || state.status === "stopped") return state.exitCode;
    if (Date.now() > deadline) throw new Error(`${name} still ${state.status} at the deadline`);
    await new Promise((r) => setTimeout(r, 1000));
  }
}

/** The containers of `pod`, init containers included, its infra container left out. */
export async function containersOf(pod: string): Promise<string[]> {
  const out = await podman("ps", "-a", "--filter", `pod=${pod}`, "--format", "{{.Names}}");
  return out.split("\n").filter((name) => name !== "" && !name.endsWith("-infra"));
}

/** Writes each container's log of `pods` to `dir`/<container>.log. */
export async function saveLogs(pods: readonly string[], dir: string): Promise<void> {
  mkdirSync(dir, { recursive: true });
  for (const pod of pods) {
    for (const container of await containersOf(pod).catch(() => [])) {
      const logs = spawnSync("podman", ["logs", container], { encoding: "utf8" });
      writeFileSync(join(dir, `${container}.log`), `${logs.stdout ?? ""}${logs.stderr ?? ""}`);
    }
  }
}
