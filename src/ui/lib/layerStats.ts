/** Names, colour scales and CSV export of the Inspect screen's layer × token statistics. */
import type { LayerStates } from '../../../workers/api';
import { csvField } from './modelCard';

export type LayerStat = keyof LayerStates['stats'];

export const LAYER_STATS: readonly { key: LayerStat; title: string; help: string; diverging?: boolean }[] = [
  { key: 'hNorm', title: '‖h‖', help: 'size of the base model’s hidden state entering each layer' },
  { key: 'sNorm', title: '‖s‖', help: 'size of the shadow state' },
  { key: 'cosHS', title: 'cos(h, s)', help: 'how aligned the shadow state is with the base stream (−1 … 1)', diverging: true },
  { key: 'injection', title: '‖α·Δ‖ / ‖h‖', help: 'how strongly the adapter nudges the base stream, relative to its size' },
  { key: 'gateMean', title: 'gate mean', help: 'mean of the update gate γ: how much of the shadow state is rewritten (0 … 1)' },
  { key: 'updateSize', title: '‖sᵏ⁺¹ − sᵏ‖', help: 'how far each update moves the shadow state' },
];

/** Finite min and max of values (NaN/±Inf skipped); [0, 1] when there is none. */
export function finiteRange(values: readonly number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (Number.isFinite(v)) {
      if (v < lo) lo = v;
      if (v > hi) hi = v;
    }
  }
  return lo <= hi ? [lo, hi] : [0, 1];
}

export function allFinite(values: readonly number[]): boolean {
  return values.every((v) => Number.isFinite(v));
}

// viridis, 5 stops (sequential) and a blue-white-red ramp (diverging, for cosines)
const VIRIDIS: [number, number, number][] = [
  [68, 1, 84],
  [59, 82, 139],
  [33, 145, 140],
  [94, 201, 98],
  [253, 231, 37],
];
const DIVERGING: [number, number, number][] = [
  [33, 102, 172],
  [146, 197, 222],
  [247, 247, 247],
  [244, 165, 130],
  [178, 24, 43],
];

/** The colour of t ∈ [0, 1] on a ramp, as "rgb(r g b)". */
export function rampColor(t: number, diverging = false): string {
  const stops = diverging ? DIVERGING : VIRIDIS;
  const x = Math.min(1, Math.max(0, Number.isFinite(t) ? t : 0)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const a = stops[i]!;
  const b = stops[i + 1]!;
  const c = (k: number) => Math.round(a[k]! + (b[k]! - a[k]!) * f);
  return `rgb(${c(0)} ${c(1)} ${c(2)})`;
}

/** One row per (layer, token) with every statistic: layer,token_index,token,hNorm,…,updateSize. */
export function layerStatesCsv(s: LayerStates): string {
  const keys = LAYER_STATS.map((x) => x.key);
  const rows = [['layer', 'token_index', 'token', ...keys].join(',')];
  for (let l = 0; l < s.layers; l++) {
    for (let t = 0; t < s.tokens.length; t++) {
      const i = l * s.tokens.length + t;
      rows.push([String(l), String(t), csvField(s.tokens[t] ?? ''), ...keys.map((k) => String(s.stats[k][i] ?? ''))].join(','));
    }
  }
  return rows.join('\n') + '\n';
}

/**
 * Rows of the layer × token statistics are adapter slots: the adapter acts before base layers
 * 1 … L−1 (layer 0 gets no injection, docs/shadowpeft.md §3), so an L-layer model has L−1 rows, and
 * slot k sits before base layer k+1.
 */
export function slotLabel(slot: number): string {
  return `slot ${slot} (before layer ${slot + 1})`;
}

/** Why an L-layer model shows L−1 rows (`slots` = L−1, LayerStates.layers). */
export function slotExplanation(slots: number): string {
  const L = slots + 1;
  const range = slots === 1 ? 'layer 1' : `layers 1–${slots}`;
  return `${slots} row${slots === 1 ? '' : 's'} for ${L} layers: the adapter acts before base ${range} (layer 0 gets no injection), one row per adapter slot; slot k sits before layer k+1.`;
}

/** A token as a short visible label: spaces shown as ·, newlines as ⏎. */
export function tokenLabel(token: string, max = 10): string {
  const t = token.replace(/ /g, '·').replace(/\n/g, '⏎').replace(/\t/g, '⇥');
  return t.length > max ? `${t.slice(0, max - 1)}…` : t || '∅';
}
