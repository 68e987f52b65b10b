import type { LengthBin } from '../../train/data/stats';
import { axisRoom } from '../lib/axisRoom';

/** font size of the tick labels in SVG units (styles.css .histogram .tick) */
const TICK_FONT = 11;

/** Token lengths as inline SVG bars (viewBox-scaled, so it fits any width). */
export function LengthHistogram({ bins, maxLength, truncated }: { bins: LengthBin[]; maxLength: number; truncated: number }) {
  const top = Math.max(1, ...bins.map((b) => b.count));
  const W = 600;
  const H = 140;
  // the left margin holds the widest count label (right-aligned, 4 units before the axis)
  const pad = { l: axisRoom([String(top), '0'], TICK_FONT, 4, 34), b: 22, t: 8 };
  const bw = (W - pad.l) / Math.max(1, bins.length);
  return (
    <figure className="histogram" data-testid="length-histogram" data-bins={bins.length} data-truncated={truncated} data-y-max={top}>
      <figcaption>
        Tokens per example (bins up to the max length {maxLength}); <strong data-testid="truncated-count">{truncated}</strong> example{truncated === 1 ? '' : 's'} cut at {maxLength}
      </figcaption>
      <svg viewBox={`0 0 ${W} ${H}`} role="img" aria-label={`histogram of ${bins.reduce((a, b) => a + b.count, 0)} example lengths`}>
        <line x1={pad.l} y1={H - pad.b} x2={W} y2={H - pad.b} className="axis" />
        <text x={pad.l - 4} y={pad.t + 8} textAnchor="end" className="tick" data-testid="histogram-y-max">
          {top}
        </text>
        <text x={pad.l - 4} y={H - pad.b} textAnchor="end" className="tick">
          0
        </text>
        {bins.map((b, i) => {
          const h = ((H - pad.b - pad.t) * b.count) / top;
          const last = i === bins.length - 1;
          return (
            <g key={b.minLength}>
              <rect x={pad.l + i * bw + 1} y={H - pad.b - h} width={Math.max(1, bw - 2)} height={h} className={last && truncated > 0 ? 'bar bar-cut' : 'bar'}>
                <title>
                  {b.minLength}–{b.maxLength} tokens: {b.count} example{b.count === 1 ? '' : 's'}
                </title>
              </rect>
              {(i % Math.ceil(bins.length / 8) === 0 || last) && (
                <text x={pad.l + i * bw + bw / 2} y={H - 6} textAnchor="middle" className="tick">
                  {b.minLength}
                </text>
              )}
            </g>
          );
        })}
      </svg>
    </figure>
  );
}
