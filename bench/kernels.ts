/**
 * npm run bench:kernels [-- --quick]
 * GPU throughput of the kernels at LLM shapes: matmul (linear layers and a chunk of the 151,936-wide
 * Qwen3 head) and attention. Prints JSON and a table; asserts nothing. On the software drivers of the
 * CI machines these numbers are ~1000× below a real GPU: they are for comparing variants, not for
 * judging speed.
 */
import { attentionForward } from '../src/engine/kernels/attention/attention';
import { matmul } from '../src/engine/kernels/matmul/matmul';
import type { WeightStorage } from '../src/engine/dtype';
import type { RowPart } from '../src/engine/tensor';
import { testGpu } from '../src/engine/testing/testGpu';
import type { BenchResult } from './harness';
import { measure, report } from './harness';
import { rowsPerPart } from '../src/model/weights';

const quick = process.argv.includes('--quick');
const repeats = quick ? 2 : 5;
const gpu = await testGpu();
const results: BenchResult[] = [];

async function benchMatmul(label: string, M: number, N: number, K: number, storage: WeightStorage = 'f32') {
  // y (M, N) = x (M, K) · Wᵀ with W (N, K): the forward of a linear layer.
  const a = await gpu.createTensor('x', [M, K]);
  const b = await gpu.createTensor('W', [N, K], storage);
  const c = await gpu.createTensor('y', [M, N]);
  const { medianMs, timing } = await measure(gpu, () => matmul(gpu, { a, b, c, M, N, K, transB: true }), repeats);
  results.push({ name: `matmul ${label} (${storage} W)`, shape: `${M}×${N}×${K}`, medianMs, rate: (2 * M * N * K) / (medianMs * 1e6), unit: 'GFLOP/s', timing, repeats });
  gpu.release([a, b, c]);
}

async function benchHead(M: number, V: number, K: number) {
  const storage: WeightStorage = 'bf16x2';
  const per = rowsPerPart(K, 2, gpu.caps.limits.maxStorageBufferBindingSize);
  const parts: RowPart[] = [];
  for (let r0 = 0; r0 < V; r0 += per) parts.push({ tensor: await gpu.createTensor(`E#${parts.length}`, [Math.min(per, V - r0), K], storage), rowStart: r0, rows: Math.min(per, V - r0) });
  const a = await gpu.createTensor('h', [M, K]);
  const c = await gpu.createTensor('logits', [M, V]);
  const record = () => parts.forEach((p) => matmul(gpu, { a, b: p.tensor, c, M, N: p.rows, K, transB: true, offsetC: p.rowStart, ldc: V }));
  const { medianMs, timing } = await measure(gpu, record, repeats);
  results.push({ name: `matmul Qwen3 head chunk (bf16x2 W, ${parts.length} row parts)`, shape: `${M}×${V}×${K}`, medianMs, rate: (2 * M * V * K) / (medianMs * 1e6), unit: 'GFLOP/s', timing, repeats });
  gpu.release([a, c, ...parts.map((p) => p.tensor)]);
}

async function benchAttention(T: number, NH: number, NKV: number, HS: number) {
  const B = 1;
  const q = await gpu.createTensor('q', [B, T, NH, HS]);
  const k = await gpu.createTensor('k', [B, T, NKV, HS]);
  const v = await gpu.createTensor('v', [B, T, NKV, HS]);
  const out = await gpu.createTensor('out', [B, T, NH, HS]);
  const lse = await gpu.createTensor('lse', [B, NH, T]);
  const { medianMs, timing } = await measure(gpu, () => attentionForward(gpu, { q, k, v, out, lse, B, Tq: T, NH, NKV, HS }), repeats);
  // Causal: about half of the T² score and value products, 2 FLOP each, over HS per head.
  const flops = 2 * 2 * NH * HS * ((T * (T + 1)) / 2);
  results.push({ name: 'attention forward (causal, GQA)', shape: `T ${T}, NH ${NH}, NKV ${NKV}, HS ${HS}`, medianMs, rate: flops / (medianMs * 1e6), unit: 'GFLOP/s', timing, repeats });
  gpu.release([q, k, v, out, lse]);
}

await benchMatmul('q/o projection', 512, 1024, 1024);
await benchMatmul('MLP up', 512, 3072, 1024);
await benchMatmul('MLP up', 512, 3072, 1024, 'bf16x2');
if (gpu.caps.features.shaderF16) await benchMatmul('MLP up', 512, 3072, 1024, 'f16');
// The Qwen3 head in chunks: one chunk of rows against the full vocabulary, the head split by rows
// into parts that each fit one storage binding (as the loader stores it on such devices).
await benchHead(quick ? 16 : 64, 151_936, 1024);
for (const T of quick ? [128, 512] : [128, 512, 2048]) await benchAttention(T, 16, 8, 64);

report('kernels', gpu.caps.adapter.description, results);
gpu.destroy();
