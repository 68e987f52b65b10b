/**
 * CPU reference of the embedding gather (the spec the kernel is tested against):
 * out[n, c] = table[ids[n], c], and zeros for an id outside [0, V). `table` holds the values as the
 * weight storage rounds them (see roundToStorage in dtype.ts).
 */
export function embeddingRef(ids: ArrayLike<number>, table: ArrayLike<number>, V: number, C: number): Float32Array {
  const out = new Float32Array(ids.length * C);
  for (let n = 0; n < ids.length; n++) {
    const id = ids[n]!;
    if (!Number.isInteger(id) || id < 0 || id >= V) continue;
    for (let c = 0; c < C; c++) out[n * C + c] = table[id * C + c]!;
  }
  return out;
}
