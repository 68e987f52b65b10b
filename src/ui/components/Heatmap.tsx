import type { KeyboardEvent, MouseEvent } from 'react';
import { useEffect, useMemo, useRef, useState } from 'react';
import { saveBlob } from '../lib/download';
import { formatMetric } from '../lib/format';
import type { LayerStat } from '../lib/layerStats';
import { allFinite, finiteRange, rampColor, slotLabel, tokenLabel } from '../lib/layerStats';

interface Props {
  stat: LayerStat;
  title: string;
  help: string;
  diverging?: boolean;
  /** (layers, tokens) row-major */
  values: number[];
  layers: number;
  tokens: string[];
  selected: { layer: number; token: number } | null;
  onSelect: (layer: number, token: number) => void;
}

const LEFT = 30;
const TOP = 4;
const BOTTOM = 48;
const RIGHT = 6;

/** Cell sizes that fit the box: as wide as possible up to 40 px, never under 5. */
function geometry(width: number, layers: number, tokens: number) {
  const cw = Math.max(5, Math.min(40, Math.floor((width - LEFT - RIGHT) / Math.max(1, tokens))));
  const ch = Math.max(6, Math.min(28, Math.floor(280 / Math.max(1, layers))));
  return { cw, ch, w: LEFT + cw * tokens + RIGHT, h: TOP + ch * layers + BOTTOM };
}

/**
 * One statistic as a layer × token heatmap on a canvas: hover shows the value, a click (or the arrow
 * keys when focused) selects a layer and token for every heatmap at once.
 */
export function Heatmap({ stat, title, help, diverging, values, layers, tokens, selected, onSelect }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const canvas = useRef<HTMLCanvasElement>(null);
  const [width, setWidth] = useState(600);
  const [hover, setHover] = useState<{ layer: number; token: number; x: number; y: number } | null>(null);
  const T = tokens.length;
  const [lo, hi] = useMemo(() => (diverging ? ([-1, 1] as [number, number]) : finiteRange(values)), [values, diverging]);
  const finite = useMemo(() => allFinite(values), [values]);
  const g = geometry(width, layers, T);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(() => setWidth(el.clientWidth));
    ro.observe(el);
    setWidth(el.clientWidth);
    return () => ro.disconnect();
  }, []);

  useEffect(() => {
    const c = canvas.current;
    const ctx = c?.getContext('2d');
    if (!c || !ctx) return;
    const dpr = window.devicePixelRatio || 1;
    c.width = Math.round(g.w * dpr);
    c.height = Math.round(g.h * dpr);
    c.style.width = `${g.w}px`;
    c.style.height = `${g.h}px`;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, g.w, g.h);
    const span = hi - lo || 1;
    for (let l = 0; l < layers; l++) {
      for (let t = 0; t < T; t++) {
        const v = values[l * T + t]!;
        ctx.fillStyle = Number.isFinite(v) ? rampColor((v - lo) / span, diverging) : '#c62828';
        ctx.fillRect(LEFT + t * g.cw, TOP + l * g.ch, g.cw, g.ch);
      }
    }
    const fg = getComputedStyle(c).color || '#555';
    ctx.fillStyle = fg;
    ctx.font = '10px system-ui, sans-serif';
    ctx.textAlign = 'right';
    ctx.textBaseline = 'middle';
    const every = Math.max(1, Math.ceil(12 / g.ch));
    for (let l = 0; l < layers; l += every) ctx.fillText(String(l), LEFT - 4, TOP + l * g.ch + g.ch / 2);
    if (g.cw >= 9) {
      for (let t = 0; t < T; t++) {
        ctx.save();
        ctx.translate(LEFT + t * g.cw + g.cw / 2 + 3, TOP + layers * g.ch + 4);
        ctx.rotate(-Math.PI / 3);
        ctx.fillText(tokenLabel(tokens[t] ?? ''), 0, 0);
        ctx.restore();
      }
    }
    if (selected && selected.layer < layers && selected.token < T) {
      ctx.lineWidth = 2;
      ctx.strokeStyle = '#ff3d00';
      ctx.strokeRect(LEFT + selected.token * g.cw + 1, TOP + selected.layer * g.ch + 1, g.cw - 2, g.ch - 2);
      ctx.lineWidth = 1;
      ctx.strokeStyle = 'rgba(255,61,0,0.5)';
      ctx.strokeRect(LEFT + selected.token * g.cw, TOP, g.cw, layers * g.ch);
    }
  }, [values, layers, T, tokens, g.w, g.h, g.cw, g.ch, lo, hi, diverging, selected]);

  const cellAt = (e: MouseEvent<HTMLCanvasElement>) => {
    const r = e.currentTarget.getBoundingClientRect();
    const x = e.clientX - r.left;
    const y = e.clientY - r.top;
    const token = Math.floor((x - LEFT) / g.cw);
    const layer = Math.floor((y - TOP) / g.ch);
    return token >= 0 && token < T && layer >= 0 && layer < layers ? { layer, token, x, y } : null;
  };

  const onKey = (e: KeyboardEvent<HTMLCanvasElement>) => {
    const cur = selected ?? { layer: 0, token: 0 };
    const moves: Record<string, [number, number]> = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const m = moves[e.key];
    if (!m) return;
    e.preventDefault();
    onSelect(Math.min(layers - 1, Math.max(0, cur.layer + m[0])), Math.min(T - 1, Math.max(0, cur.token + m[1])));
  };

  const exportPng = () => canvas.current?.toBlob((b) => b && saveBlob(b, `layer-states-${stat}.png`), 'image/png');
  const hv = hover ? values[hover.layer * T + hover.token] : undefined;

  return (
    <figure className="heatmap" data-testid="heatmap" data-stat={stat} data-layers={layers} data-tokens={T} data-finite={String(finite)} data-min={lo} data-max={hi}>
      <figcaption>
        <strong>{title}</strong> <span className="muted">{help}</span>
      </figcaption>
      <div className="heatmap-legend" aria-hidden="true">
        <span>{formatMetric(lo, 3)}</span>
        <span className="heatmap-ramp" style={{ background: `linear-gradient(to right, ${[0, 0.25, 0.5, 0.75, 1].map((t) => rampColor(t, diverging)).join(', ')})` }} />
        <span>{formatMetric(hi, 3)}</span>
        {!finite && <span className="error">non-finite values shown in red</span>}
      </div>
      <div className="heatmap-axes">
        <span className="heatmap-y-title" data-testid="heatmap-y-title" style={{ height: g.h - BOTTOM }}>
          adapter slot
        </span>
        <div ref={box} className="heatmap-box">
          <canvas
            ref={canvas}
            tabIndex={0}
            role="img"
            aria-label={`${title}: ${layers} adapter slots by ${T} tokens, from ${formatMetric(lo, 3)} to ${formatMetric(hi, 3)}. Arrow keys move the selection.`}
            onMouseMove={(e) => setHover(cellAt(e))}
            onMouseLeave={() => setHover(null)}
            onClick={(e) => {
              const c = cellAt(e);
              if (c) onSelect(c.layer, c.token);
            }}
            onKeyDown={onKey}
          />
          {hover && hv !== undefined && (
            <div className="heatmap-tip" style={{ left: Math.min(hover.x + 12, g.w - 150), top: hover.y + 12 }} data-testid="heatmap-tip">
              {slotLabel(hover.layer)}, token {hover.token} “{tokenLabel(tokens[hover.token] ?? '', 16)}”<br />
              {title} = <strong>{formatMetric(hv, 4)}</strong>
            </div>
          )}
        </div>
      </div>
      <p className="heatmap-x-title" data-testid="heatmap-x-title">
        prompt token →
      </p>
      <button type="button" className="secondary small" onClick={exportPng}>
        PNG
      </button>
    </figure>
  );
}
