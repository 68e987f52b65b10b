import { useEffect, useMemo, useRef } from 'react';
import uPlot from 'uplot';
import 'uplot/dist/uPlot.min.css';
import { axisRoom } from '../lib/axisRoom';

export interface ChartSeries {
  label: string;
  /** one value per x, null where there is none (a gap the line spans) */
  values: (number | null)[];
  color: string;
  dash?: number[];
  /** mark each value (sparse series such as evaluations) */
  points?: boolean;
}

interface Props {
  title: string;
  x: number[];
  series: ChartSeries[];
  xLabel?: string;
  height?: number;
  testId?: string;
}

/** Tick labels with enough digits to tell neighbours apart (a learning rate of 0.00297 vs 0.003). */
function ticks(_u: uPlot, splits: number[]): string[] {
  return splits.map((v) => (v === 0 ? '0' : Math.abs(v) < 1e-3 || Math.abs(v) >= 1e5 ? v.toExponential(2) : String(Number(v.toPrecision(4)))));
}

/** Whole-number tick steps for the step axis: 1, 2, 5, 10, 20, 50, … */
const STEP_INCRS = Array.from({ length: 8 }, (_, k) => [1, 2, 5].map((m) => m * 10 ** k)).flat();

const AXIS = { stroke: '#8a93a5', grid: { stroke: 'rgba(138,147,165,0.18)', width: 1 }, ticks: { stroke: 'rgba(138,147,165,0.3)', width: 1 } };

/**
 * A uPlot line chart that fills its container's width. The plot is built once per set of series
 * and then only fed new data (setData), which is what keeps live training charts cheap.
 */
export function LineChart({ title, x, series, xLabel = 'step', height = 190, testId }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const plot = useRef<uPlot | null>(null);
  const shape = series.map((s) => `${s.label}|${s.color}|${s.points ?? false}`).join(',');
  const data = useMemo(() => [x, ...series.map((s) => s.values)] as uPlot.AlignedData, [x, series]);
  const dataRef = useRef(data);
  dataRef.current = data;

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts: uPlot.Options = {
      width: Math.max(200, el.clientWidth),
      height,
      legend: { show: true },
      cursor: { drag: { x: true, y: false } },
      scales: { x: { time: false } },
      // the y axis is as wide as its widest tick label (uPlot's default 12px font), so none is clipped
      axes: [{ ...AXIS, label: xLabel, incrs: STEP_INCRS }, { ...AXIS, size: (_u: uPlot, values: string[] | null) => axisRoom(values ?? [], 12, 18, 48), values: ticks }],
      series: [{ label: xLabel }, ...series.map((s) => ({ label: s.label, stroke: s.color, width: 1.5, dash: s.dash, spanGaps: true, points: { show: s.points ?? false, size: 6, fill: s.color } }))],
    };
    const p = new uPlot(opts, dataRef.current, el);
    plot.current = p;
    const ro = new ResizeObserver(() => p.setSize({ width: Math.max(200, el.clientWidth), height }));
    ro.observe(el);
    return () => {
      ro.disconnect();
      p.destroy();
      plot.current = null;
    };
    // rebuilt only when the series themselves change; data goes through setData below
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [shape, height, xLabel]);

  useEffect(() => {
    plot.current?.setData(data);
  }, [data]);

  return (
    <figure className="chart" data-testid={testId} data-points={x.length}>
      <figcaption>{title}</figcaption>
      <div ref={box} className="chart-box" />
    </figure>
  );
}
