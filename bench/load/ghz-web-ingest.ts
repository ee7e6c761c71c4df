/**
 * Posts a report to ghz-web's ingest API, which keeps SREs' runs over time: POST /api/ingest
 * creates a project for it, POST /api/projects/<id>/ingest adds it to an existing one. The body is
 * the raw JSON report.
 */

/** The ingest URL for a ghz-web base URL and an optional project id. */
export function ingestUrl(base: string, project: string | undefined): string {
  const root = base.replace(/\/+$/, "");
  return project === undefined ? `${root}/api/ingest` : `${root}/api/projects/${encodeURIComponent(project)}/ingest`;
}

/** Posts `reportJson`; resolves with the HTTP status, throws with the response text on a non-2xx status. */
export async function postToGhzWeb(base: string, project: string | undefined, reportJson: string): Promise<number> {
  const response = await fetch(ingestUrl(base, project), {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: reportJson,
  });
  if (!response.ok) {
    const text = (await response.text()).slice(0, 200);
    throw new Error(`ghz-web answered ${response.status} ${response.statusText}: ${text}`);
  }
  return response.status;
}
