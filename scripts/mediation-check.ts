/**
 * The static half of mediation: only services/router may create engine clients
 * or import the engine client module, and no service reaches into another's
 * internals. Scans the production code (services/, deploy/) for: an import of
 * services/router/engine-client from outside the router; a file outside the
 * router that both imports EngineService and creates a gRPC client; a Python
 * EngineServiceStub outside the router; and a file of one service importing a
 * file of another (each engine under services/engines/<name>/ is a service of
 * its own; services/runtime/ and gen/ are shared by all). The one tool a service
 * may import is the engine conformance suite (conformance/), and only the
 * operator CLI may: `selenectl engine conformance` runs it.
 */
import { readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";

/** One breach of the rule. */
export interface MediationViolation {
  readonly file: string;
  readonly rule: "imports-engine-client" | "creates-engine-client" | "python-engine-stub" | "imports-service-internals";
  readonly detail: string;
}

/** Code that may create engine clients. */
const ROUTER_DIR = "services/router";
const ENGINE_CLIENT_MODULE = "services/router/engine-client";
const SCANNED = ["services", "deploy"];
/** What every service may import besides its own files. */
const SHARED = ["services/runtime", "gen"];
/**
 * Trees outside services/ that one service may import: the operator CLI runs the conformance
 * suite, which calls an engine as the router does, with the certificates the operator gives it
 * (an engine still admits the router's identity only).
 */
const TOOLS: Readonly<Record<string, readonly string[]>> = { "services/cli": ["conformance"] };

/** The service a path belongs to ("services/router", "services/engines/nlp"), or undefined outside services/. */
export function serviceOf(path: string): string | undefined {
  const parts = path.split("/");
  if (parts[0] !== "services" || parts.length < 3) return undefined;
  if (parts[1] === "engines") return parts.length < 4 ? undefined : parts.slice(0, 3).join("/");
  return parts.slice(0, 2).join("/");
}

const within = (path: string, dir: string) => path === dir || path.startsWith(`${dir}/`);

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

/** Each relative or package import of `text` (a file at `file`), with its target relative to `root`. */
function importsOf(root: string, file: string, text: string): { spec: string; target: string }[] {
  return [...text.matchAll(IMPORT_RE)].map((match) => {
    const spec = match[1] ?? match[2] ?? "";
    const target = spec.startsWith(".")
      ? relative(root, resolve(dirname(file), spec))
          .split("\\")
          .join("/")
      : spec;
    return { spec, target };
  });
}

const byText = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/** Scans the tree at `root`; returns every violation, sorted by file, rule and detail. */
export function findMediationViolations(root: string): MediationViolation[] {
  const violations: MediationViolation[] = [];
  for (const top of SCANNED) {
    for (const file of walk(join(root, top))) {
      const rel = relative(root, file).split("\\").join("/");
      const service = serviceOf(rel);
      const text = readFileSync(file, "utf8");
      if (file.endsWith(".py")) {
        if (!rel.startsWith(`${ROUTER_DIR}/`) && /EngineServiceStub/.test(text)) {
          violations.push({ file: rel, rule: "python-engine-stub", detail: "uses EngineServiceStub" });
        }
        continue;
      }
      if (!file.endsWith(".ts")) continue;
      for (const { spec, target } of importsOf(root, file, text)) {
        // A service's own files, the shared runtime and generated code; anything else is another's internals.
        const allowed = [service, ...SHARED, ...(service === undefined ? [] : (TOOLS[service] ?? []))];
        const shared = !spec.startsWith(".") || allowed.some((dir) => dir !== undefined && within(target, dir));
        if (service !== undefined && !shared) {
          violations.push({ file: rel, rule: "imports-service-internals", detail: `imports ${spec}` });
        }
        if (!rel.startsWith(`${ROUTER_DIR}/`) && target.replace(/\.(js|ts)$/, "") === ENGINE_CLIENT_MODULE) {
          violations.push({ file: rel, rule: "imports-engine-client", detail: `imports ${spec}` });
        }
      }
      if (!rel.startsWith(`${ROUTER_DIR}/`) && ENGINE_SERVICE_RE.test(text) && CLIENT_CREATION_RE.test(text)) {
        violations.push({
          file: rel,
          rule: "creates-engine-client",
          detail: "refers to EngineService and creates a gRPC client",
        });
      }
    }
  }
  return violations.sort((a, b) => byText(a.file, b.file) || byText(a.rule, b.rule) || byText(a.detail, b.detail));
}
