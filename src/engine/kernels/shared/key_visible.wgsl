// Whether key s of batch row b is a real token: the key-padding mask (MASK), else every key.
// Needs the includer's `p.maxT` and, with MASK, its `mask` binding ((B, maxT) u32, 1 = real).
fn key_visible(b: u32, s: u32) -> bool {
#if MASK
  return mask[b * p.maxT + s] != 0u;
#else
  return true;
#endif
}
