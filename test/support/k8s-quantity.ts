/** Kubernetes resource quantities ("250m", "1", "128Mi", "2G") as plain numbers, for comparisons. */

const SUFFIXES: Record<string, number> = {
  m: 1e-3,
  "": 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
};

/** The value of a quantity: cores for CPU, bytes for memory. */
export function parseQuantity(quantity: string | number): number {
  if (typeof quantity === "number") return quantity;
  const match = /^(\d+(?:\.\d+)?)([a-zA-Z]*)$/.exec(quantity);
  const factor = match === null ? undefined : SUFFIXES[match[2]!];
  if (match === null || factor === undefined) throw new Error(`not a resource quantity: ${quantity}`);
  return Number(match[1]) * factor;
}
