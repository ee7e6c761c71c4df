/** Hand-made protobuf bytes for checks that need encodings no encoder produces (the conformance suite, tests). */

/** Encodes an unsigned varint. */
export function varint(n: number): number[] {
  const out: number[] = [];
  let v = n;
  while (v > 0x7f) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

/** Encodes a tag. */
export function tag(fieldNumber: number, wireType: number): number[] {
  return varint(fieldNumber * 8 + wireType);
}

/** A length-delimited field. */
export function lenField(fieldNumber: number, payload: ArrayLike<number>): number[] {
  return [...tag(fieldNumber, 2), ...varint(payload.length), ...Array.from(payload)];
}

/** A varint field. */
export function varintField(fieldNumber: number, value: number): number[] {
  return [...tag(fieldNumber, 0), ...varint(value)];
}

/** Concatenates byte arrays. */
export function bytes(...parts: ArrayLike<number>[]): Uint8Array {
  return Uint8Array.from(parts.flatMap((p) => Array.from(p)));
}

/** UTF-8 bytes of a string. */
export function utf8(s: string): number[] {
  return Array.from(new TextEncoder().encode(s));
}
