/**
 * What the router's resilience metrics say, scraped from its Prometheus port:
 * attempts per engine (first, retry, hedge) and the engine breakers' openings
 * and closings, and the most an engine call ended past its deadline. A profile
 * compares two scrapes (the fault window, the recovery) to judge the retry
 * bound and the breaker, and reads the worst overrun at the end.
 */
import { request } from "node:http";

/** One scrape. */
export interface ResilienceScrape {
  /** Calls the router made per engine. */
  readonly calls: Readonly<Record<string, number>>;
  /** Attempts that reached each engine, per kind. */
  readonly attempts: Readonly<Record<string, { first: number; retry: number; hedge: number }>>;
  /** Engine-level breaker transitions per engine and new state. */
  readonly transitions: Readonly<Record<string, { open: number; half_open: number; closed: number }>>;
  /** The most a call to each engine ended past its deadline since the router started, ms. */
  readonly overrunMaxMs: Readonly<Record<string, number>>;
}

/** The metrics text of `address` (host:port). */
function fetchText(address: string): Promise<string> {
  const [host, port] = address.split(":");
  return new Promise((resolve, reject) => {
    const req = request({ host, port: Number(port), path: "/metrics", timeout: 2000 }, (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve(body));
    });
    req.on("timeout", () => req.destroy(new Error("metrics scrape timed out")));
    req.on("error", reject);
    req.end();
  });
}

const SAMPLE =
  /^(selene_engine_calls_total|selene_engine_attempts_total|selene_engine_breaker_transitions_total|selene_engine_call_deadline_overrun_max_ms)\{([^}]*)\} (-?[0-9.e+]+)$/;

/** Reads the router's resilience metrics at `metricsAddress`; empty when the router does not answer. */
export async function scrapeRouterResilience(metricsAddress: string): Promise<ResilienceScrape> {
  const calls: Record<string, number> = {};
  const attempts: Record<string, { first: number; retry: number; hedge: number }> = {};
  const transitions: Record<string, { open: number; half_open: number; closed: number }> = {};
  const overrunMaxMs: Record<string, number> = {};
  const text = await fetchText(metricsAddress).catch(() => "");
  for (const line of text.split("\n")) {
    const m = SAMPLE.exec(line);
    if (m === null) continue;
    const labels = Object.fromEntries([...m[2]!.matchAll(/(\w+)="([^"]*)"/g)].map((l) => [l[1]!, l[2]!]));
    const value = Number(m[3]);
    const engine = labels.engine ?? "";
    if (m[1] === "selene_engine_calls_total") {
      calls[engine] = value;
    } else if (m[1] === "selene_engine_call_deadline_overrun_max_ms") {
      overrunMaxMs[engine] = value;
    } else if (m[1] === "selene_engine_attempts_total") {
      attempts[engine] ??= { first: 0, retry: 0, hedge: 0 };
      const kind = labels.kind as "first" | "retry" | "hedge";
      if (kind in attempts[engine]) attempts[engine][kind] = value;
    } else if (labels.scope === "engine") {
      transitions[engine] ??= { open: 0, half_open: 0, closed: 0 };
      const to = labels.to as "open" | "half_open" | "closed";
      if (to in transitions[engine]) transitions[engine][to] = value;
    }
  }
  return { calls, attempts, transitions, overrunMaxMs };
}

/**
 * Attempts that reached `engine` per call the router made to it, between two scrapes (retries and
 * hedges included; calls an open breaker refused reach nothing); 0 when no call was made. The
 * retries and hedges among them too.
 */
export function attemptsPerCall(
  engine: string,
  from: ResilienceScrape,
  to: ResilienceScrape,
): { calls: number; ratio: number; retries: number; hedges: number } {
  const a = from.attempts[engine] ?? { first: 0, retry: 0, hedge: 0 };
  const b = to.attempts[engine] ?? { first: 0, retry: 0, hedge: 0 };
  const calls = (to.calls[engine] ?? 0) - (from.calls[engine] ?? 0);
  const all = b.first - a.first + (b.retry - a.retry) + (b.hedge - a.hedge);
  return { calls, ratio: calls === 0 ? 0 : all / calls, retries: b.retry - a.retry, hedges: b.hedge - a.hedge };
}

/** Times `engine`'s breaker moved to `state` between two scrapes. */
export function transitionsTo(
  engine: string,
  state: "open" | "half_open" | "closed",
  from: ResilienceScrape,
  to: ResilienceScrape,
): number {
  return (to.transitions[engine]?.[state] ?? 0) - (from.transitions[engine]?.[state] ?? 0);
}

/** The engine whose calls ended furthest past their deadline, and by how much (ms); undefined: no call ended. */
export function worstOverrun(scrape: ResilienceScrape): { engine: string; ms: number } | undefined {
  let worst: { engine: string; ms: number } | undefined;
  for (const [engine, ms] of Object.entries(scrape.overrunMaxMs)) {
    if (worst === undefined || ms > worst.ms) worst = { engine, ms };
  }
  return worst;
}

/**
 * A process's event-loop delay since its previous scrape (prom-client resets the histogram on each
 * collect), ms: p99 and max; undefined when it does not answer.
 */
export async function scrapeEventLoopLag(
  metricsAddress: string,
): Promise<{ p99Ms: number; maxMs: number } | undefined> {
  const text = await fetchText(metricsAddress).catch(() => "");
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, "m").exec(text)?.[1] ?? Number.NaN) * 1000;
  const p99Ms = value("nodejs_eventloop_lag_p99_seconds");
  const maxMs = value("nodejs_eventloop_lag_max_seconds");
  return Number.isNaN(p99Ms) ? undefined : { p99Ms: Math.round(p99Ms * 10) / 10, maxMs: Math.round(maxMs * 10) / 10 };
}
