/**
 * Tiny benchmark harness: warm up, repeat, report the median GPU time (timestamp queries where the
 * device has them), and print both a JSON document and a readable table. Benchmarks assert nothing.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import type { Gpu } from '../src/engine/runtime';

export interface BenchResult {
  name: string;
  shape: string;
  medianMs: number;
  /** GFLOP/s for compute-bound kernels, GB/s for memory-bound ones */
  rate: number;
  unit: 'GFLOP/s' | 'GB/s';
  timing: 'timestamp-query' | 'wall';
  repeats: number;
}

export async function measure(gpu: Gpu, record: () => void, repeats: number): Promise<{ medianMs: number; timing: BenchResult['timing'] }> {
  await gpu.time(record); // warm-up: pipeline creation and first-touch costs
  const times: number[] = [];
  let timing: BenchResult['timing'] = 'wall';
  for (let i = 0; i < repeats; i++) {
    const r = await gpu.time(record);
    times.push(r.ms);
    timing = r.source;
  }
  times.sort((a, b) => a - b);
  return { medianMs: times[Math.floor(times.length / 2)]!, timing };
}

export function report(title: string, device: string, results: BenchResult[]): void {
  const doc = { title, device, date: new Date().toISOString(), results };
  console.log(JSON.stringify(doc, null, 2));
  const rows = [['kernel', 'shape', 'median ms', 'rate', 'timing'], ...results.map((r) => [r.name, r.shape, r.medianMs.toFixed(3), `${r.rate.toFixed(2)} ${r.unit}`, r.timing])];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  console.log(`\n${title} on ${device}`);
  for (const [i, row] of rows.entries()) {
    console.log(row.map((c, j) => c.padEnd(widths[j]!)).join('  '));
    if (i === 0) console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  }
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(`bench/results/${title.replace(/\W+/g, '-')}.json`, JSON.stringify(doc, null, 2));
}
