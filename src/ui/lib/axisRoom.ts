/**
 * Room for axis tick labels, so that none is clipped at the chart's edge (issue 20: a histogram
 * maximum of 11212 read as "1212"). Widths are estimated from the characters, generously: digits
 * and most Latin letters of the UI font are at most 0.62 em wide.
 */
export const CHAR_EM = 0.62;

/** Estimated width of `text` at `fontPx` (px or SVG user units). */
export function labelWidth(text: string, fontPx: number): number {
  return Math.ceil(text.length * CHAR_EM * fontPx);
}

/** Left room for right-aligned labels: the widest label, a gap to the axis, and `min`. */
export function axisRoom(labels: readonly string[], fontPx: number, gap = 6, min = 0): number {
  return Math.max(min, ...labels.map((l) => labelWidth(l, fontPx) + gap));
}
