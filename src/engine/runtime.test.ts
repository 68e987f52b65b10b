import { beforeAll, describe, expect, it } from 'vitest';
import { Arena } from './arena';
import { isStudioError } from './errors';
import { KernelSource } from './kernel';
import { Gpu } from './runtime';
import { testGpu, upload } from './testing/testGpu';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const fill = new KernelSource(
  'test_fill',
  `{{PARAMS}}
@group(0) @binding(0) var<uniform> p: Params;
@group(0) @binding(1) var<storage, read_write> out: array<f32>;
override WG: u32 = 64;
@compute @workgroup_size(WG) fn main(@builtin(global_invocation_id) g: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = g.x + g.y * nwg.x * WG;
  if (i < p.n) { out[i] = p.value + f32(i); }
}`,
  { n: 'u32', value: 'f32' } as const,
);

describe('Gpu runtime', () => {
  it('reports the capability record of the device', () => {
    expect(gpu.caps.adapter.description.length).toBeGreaterThan(0);
    expect(gpu.caps.limits.maxStorageBufferBindingSize).toBeGreaterThanOrEqual(128 * 2 ** 20);
    // The Node suite runs on lavapipe, whose shader-f16 is what exercises the native-f16 paths.
    expect(gpu.caps.features.shaderF16).toBe(true);
  });

  it('batches many dispatches with distinct uniforms into one submission, in order', async () => {
    const t = await gpu.createTensor('fill', [100]);
    const spec = fill.variant({ entryPoint: 'main', constants: { WG: 64 } });
    for (let k = 0; k < 5; k++) gpu.dispatch(spec, { n: 100, value: k * 1000 }, [t], [2]);
    const got = await gpu.read(t);
    expect(got[0]).toBe(4000);
    expect(got[99]).toBe(4099);
    expect(spec.key).toBe('test_fill_main_WG64');
    expect(gpu.pipeline(spec)).toBe(gpu.pipeline(spec));
  });

  it('splits more than 65,535 workgroups over two grid dimensions', async () => {
    const n = 65_536 * 2 + 5; // needs 2049 workgroups of 64 at WG 64 — force the split with WG 1
    const t = await gpu.createTensor('big', [n]);
    const spec = fill.variant({ entryPoint: 'main', constants: { WG: 1 } });
    const grid = gpu.grid(n);
    expect(grid[1]).toBeGreaterThan(1);
    gpu.dispatch(spec, { n, value: 0 }, [t], grid);
    const got = await gpu.read(t);
    expect(got[n - 1]).toBe(n - 1);
    expect(got[70_000]).toBe(70_000);
  });

  it('orders writes after the dispatches recorded before them', async () => {
    const t = await upload(gpu, 'order', new Float32Array(4).fill(1), [4]);
    gpu.dispatch(fill.variant({ entryPoint: 'main' }), { n: 4, value: 10 }, [t], [1]);
    gpu.write(t, new Float32Array([7]), 0);
    expect(Array.from(await gpu.read(t))).toEqual([7, 11, 12, 13]);
  });

  it('releases a buffer that recorded, unsubmitted work still uses without a submit error, and counts it back', async () => {
    await gpu.sync();
    const before = gpu.allocatedBytes;
    const t = await gpu.createTensor('released', [1000]);
    expect(gpu.allocatedBytes - before).toBe(4000);
    const keep = await gpu.createTensor('kept', [4]);
    gpu.dispatch(fill.variant({ entryPoint: 'main' }), { n: 1000, value: 1 }, [t], [16]);
    // Destroying t before that dispatch is submitted would make the submit fail ("used in submit while destroyed").
    gpu.release({ ws: { t }, again: [t] });
    expect(gpu.allocatedBytes - before).toBe(16);
    gpu.dispatch(fill.variant({ entryPoint: 'main' }), { n: 4, value: 5 }, [keep], [1]);
    expect(Array.from(await gpu.read(keep))).toEqual([5, 6, 7, 8]);
    gpu.release(keep);
    gpu.release(keep); // a second release is a no-op, not a double count
    expect(gpu.allocatedBytes).toBe(before);
  });

  it('compiles pipelines ahead of time and names a broken kernel in a coded error', async () => {
    await gpu.preparePipelines([fill.variant({ entryPoint: 'main', constants: { WG: 32 } })]);
    const broken = new KernelSource('test_broken', '{{PARAMS}}\n@compute @workgroup_size(1) fn main() { let x: f32 = undefined_thing; }', { n: 'u32' } as const);
    const err = await gpu.preparePipelines([broken.variant({ entryPoint: 'main' })]).catch((e: unknown) => e);
    expect(isStudioError(err, 'E003')).toBe(true);
    expect(String(err)).toMatch(/test_broken_main/);
  });

  it('turns a validation error in submitted work into a coded error at the next sync', async () => {
    const t = await gpu.createTensor('tiny', [4]);
    // Copy past the end of the buffer: a validation error raised on submit.
    gpu.copy({ ...t, shape: [1024] }, { ...t, shape: [1024] });
    const err = await gpu.sync().catch((e: unknown) => e);
    expect(isStudioError(err, 'E003')).toBe(true);
    await gpu.sync(); // and the runtime keeps working afterwards
  });

  it('refuses a buffer larger than the device allows with a coded error and a hint', async () => {
    const err = await gpu.createTensor('huge', [gpu.caps.limits.maxBufferSize], 'f32').catch((e: unknown) => e);
    expect(isStudioError(err, 'E007')).toBe(true);
    expect(String(err)).toMatch(/'huge'.*smaller batch/);
  });

  it('refuses to bind a tensor larger than one storage binding, naming it', async () => {
    const small = new Gpu(gpu.device, { ...gpu.caps, limits: { ...gpu.caps.limits, maxStorageBufferBindingSize: 256 } });
    const t = await small.createTensor('wide', [100]);
    let message = '';
    try {
      small.dispatch(fill.variant({ entryPoint: 'main' }), { n: 100, value: 0 }, [t], [2]);
    } catch (e) {
      message = String(e);
    }
    expect(message).toMatch(/E007 .*'wide' \(400 B\) exceeds this device's largest storage binding \(256 B\)/);
  });

  it('times GPU work with timestamp queries', async () => {
    const t = await gpu.createTensor('timed', [4096]);
    const r = await gpu.time(() => gpu.dispatch(fill.variant({ entryPoint: 'main' }), { n: 4096, value: 1 }, [t], [64]));
    expect(r.source).toBe('timestamp-query');
    expect(r.ms).toBeGreaterThanOrEqual(0);
    expect(Number.isFinite(r.ms)).toBe(true);
  });
});

describe('Arena', () => {
  it('places named views on the storage alignment in a shared buffer', async () => {
    const arena = new Arena('test').add('a', [3]).add('b', [5, 2]).add('c', [1], 'u32');
    const align = gpu.caps.limits.minStorageBufferOffsetAlignment;
    expect(arena.plannedBytes(align)).toBe(3 * align);
    const views = await arena.allocate(gpu);
    const a = views.get('a')!;
    const b = views.get('b')!;
    expect(b.buffer).toBe(a.buffer);
    expect(b.offset % align).toBe(0);
    expect(b.offset).toBeGreaterThan(a.offset);
    gpu.write(b, new Float32Array(10).fill(3));
    gpu.write(a, new Float32Array([1, 2, 3]));
    expect(Array.from(await gpu.read(a))).toEqual([1, 2, 3]);
    expect(Array.from(await gpu.read(b))).toEqual(new Array(10).fill(3));
    expect(() => arena.add('a', [1])).toThrow(/already has a tensor named 'a'/);
  });
});
