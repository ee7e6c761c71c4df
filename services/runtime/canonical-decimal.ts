/**
 * One plain decimal spelling per number, never rounded and never an exponent: "+05.50" -> "5.5",
 * "3.50" -> "3.5", "-0.0" -> "0". The nlp engine spells the amounts it extracts this way, and the
 * tools engine the amounts it shows, so the same amount reads the same at both ends of a turn.
 */
export function canonicalDecimal(text: string): string {
  const negative = text.startsWith("-");
  const unsigned = negative || text.startsWith("+") ? text.slice(1) : text;
  const [intPart = "", fraction = ""] = unsigned.split(".");
  let start = 0;
  while (start < intPart.length - 1 && intPart[start] === "0") start++;
  let end = fraction.length;
  while (end > 0 && fraction[end - 1] === "0") end--;
  const digits = end > 0 ? `${intPart.slice(start)}.${fraction.slice(0, end)}` : intPart.slice(start);
  return negative && digits !== "0" ? `-${digits}` : digits;
}
