/**
 * The static half of mediation: only services/router may create engine clients
 * or import the engine client module. Scans the production code (services/,
 * deploy/) for: an import of services/router/engine-client from outside the
 * router; a file outside the router that both imports EngineService and creates
 * a gRPC client; and a Python EngineServiceStub outside the router.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/** One breach of the rule. */
export interface MediationViolation {
  readonly file: string;
  readonly rule: "imports-engine-client" | "creates-engine-client" | "python-engine-stub";
  readonly detail: string;
}

/** Code that may create engine clients. */
const ROUTER_DIR = "services/router";
const ENGINE_CLIENT_MODULE = "services/router/engine-client";
const SCANNED = ["services", "deploy"];

function walk(dir: string): string[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.flatMap((name) => {
    const path = join(dir, name);
    if (name === "node_modules" || name.startsWith(".")) return [];
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

const IMPORT_RE = /(?:import|export)\s[^'"]*?from\s*["']([^"']+)["']|import\(\s*["']([^"']+)["']\s*\)/g;
const CLIENT_CREATION_RE =
  /\bcreateUnaryClient\s*\(|\bnew\s+(?:grpc\.)?Client\s*\(|\bmakeUnaryRequest\s*\(|\bmakeGenericClientConstructor\s*\(|\bcreateClient\s*\(/;
const ENGINE_SERVICE_RE = /\bEngineService\b|selene\.engine\.v1\.EngineService/;

/** Scans the tree at `root`; returns every violation, sorted by file. */
export function findMediationViolations(root: string): MediationViolation[] {
  const violations: MediationViolation[] = [];
  for (const top of SCANNED) {
    for (const file of walk(join(root, top))) {
      const rel = relative(root, file).split("\\").join("/");
      if (rel.startsWith(`${ROUTER_DIR}/`)) continue;
      const text = readFileSync(file, "utf8");
      if (file.endsWith(".py")) {
        if (/EngineServiceStub/.test(text)) {
          violations.push({ file: rel, rule: "python-engine-stub", detail: "uses EngineServiceStub" });
        }
        continue;
      }
      if (!file.endsWith(".ts")) continue;
      for (const match of text.matchAll(IMPORT_RE)) {
        const spec = match[1] ?? match[2] ?? "";
        const target = spec.startsWith(".")
          ? relative(root, resolve(dirname(file), spec))
              .split("\\")
              .join("/")
          : spec;
        if (target.replace(/\.(js|ts)$/, "") === ENGINE_CLIENT_MODULE) {
          violations.push({ file: rel, rule: "imports-engine-client", detail: `imports ${spec}` });
        }
      }
      if (ENGINE_SERVICE_RE.test(text) && CLIENT_CREATION_RE.test(text)) {
        violations.push({
          file: rel,
          rule: "creates-engine-client",
          detail: "refers to EngineService and creates a gRPC client",
        });
      }
    }
  }
  return violations.sort((a, b) => (a.file < b.file ? -1 : a.file > b.file ? 1 : 0));
}
