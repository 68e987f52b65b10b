/**
 * The project's one seeded generator, mulberry32: small, fast, and the same sequence in every
 * JavaScript engine. Adapter initialisation, data order and sampling all draw from it (each layer
 * derives its own seeds), and tests use it for reproducible inputs.
 */
export function mulberry32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A standard normal draw from two uniforms of `next` (Box–Muller, cosine branch). */
export function normalFrom(next: () => number): number {
  return Math.sqrt(-2 * Math.log(Math.max(next(), 1e-12))) * Math.cos(2 * Math.PI * next());
}
