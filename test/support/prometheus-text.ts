/** Reads samples out of the Prometheus text exposition format, for tests of /metrics. */

/** The labels of one sample line, or undefined when the line is no sample of `name`. */
function labelsOf(line: string, name: string): Record<string, string> | undefined {
  if (!line.startsWith(name)) return undefined;
  const rest = line.slice(name.length);
  if (rest.startsWith(" ")) return {};
  if (!rest.startsWith("{")) return undefined;
  const labels: Record<string, string> = {};
  for (const match of rest.slice(0, rest.indexOf("} ") + 1).matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
    labels[match[1] as string] = (match[2] as string).replace(/\\(.)/g, "$1");
  }
  return labels;
}

/** The value of the sample of `name` whose labels are exactly `labels`; 0 when there is none. */
export function sampleValue(text: string, name: string, labels: Record<string, string>): number {
  const wanted = Object.entries(labels);
  for (const line of text.split("\n")) {
    const found = labelsOf(line, name);
    if (found === undefined || Object.keys(found).length !== wanted.length) continue;
    if (wanted.every(([k, v]) => found[k] === v)) return Number(line.slice(line.lastIndexOf(" ") + 1));
  }
  return 0;
}
