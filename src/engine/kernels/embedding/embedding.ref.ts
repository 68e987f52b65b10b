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

/**
 * CPU reference of the embedding backward: dTable (V, C) += dOut[n] for every n with ids[n] = row,
 * summed in ascending n (the kernel's order); ids outside [0, V) contribute nothing.
 */
export function embeddingBackwardRef(ids: ArrayLike<number>, dOut: ArrayLike<number>, V: number, C: number, dTable: ArrayLike<number> = new Float32Array(V * C)): Float32Array {
  const sums = new Float64Array(V * C);
  const touched = new Uint8Array(V);
  for (let n = 0; n < ids.length; n++) {
    const id = ids[n]!;
    if (!Number.isInteger(id) || id < 0 || id >= V) continue;
    touched[id] = 1;
    for (let c = 0; c < C; c++) sums[id * C + c] = Math.fround(sums[id * C + c]! + dOut[n * C + c]!);
  }
  const out = Float32Array.from(dTable);
  for (let v = 0; v < V; v++) if (touched[v]) for (let c = 0; c < C; c++) out[v * C + c] = out[v * C + c]! + sums[v * C + c]!;
  return out;
}
