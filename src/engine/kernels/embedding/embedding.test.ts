import { beforeAll, describe, expect, it } from 'vitest';
import { encodeStorage, roundToStorage } from '../../dtype';
import type { WeightStorage } from '../../dtype';
import type { Gpu } from '../../runtime';
import { expectClose } from '../../testing/expectClose';
import { normal, rng, uniform } from '../../testing/random';
import { testGpu, upload } from '../../testing/testGpu';
import { embeddingForward } from './embedding';
import { embeddingRef } from './embedding.ref';

let gpu: Gpu;
beforeAll(async () => {
  gpu = await testGpu();
});

const V = 37;
// A gather copies stored values: the GPU must reproduce the storage-rounded table bit for bit.
const EXACT = { atol: 0, rtol: 0 };

/** Ids with both ends of the table, repeats and a seeded spread; odd count on purpose. */
function someIds(seed: number): number[] {
  const r = rng(seed);
  return [0, V - 1, 0, ...Array.from({ length: 8 }, () => Math.floor(r() * V)), V - 1, 18];
}

async function gather(storage: WeightStorage, C: number, ids: Uint32Array | Int32Array, idsDtype: 'u32' | 'i32') {
  const table = normal(V * C, 100 + C, 2);
  const N = ids.length;
  const tableT = await upload(gpu, 'E', encodeStorage(table, storage), [V, C], storage);
  const idsT = await upload(gpu, 'ids', ids, [N], idsDtype);
  // Garbage in the output first, so that rows of zeros must really be written.
  const out = await upload(gpu, 'out', uniform(N * C, 5, 10, 20), [N, C]);
  embeddingForward(gpu, { ids: idsT, table: tableT, out, N, V, C });
  return { got: await gpu.read(out), want: embeddingRef(ids, roundToStorage(table, storage), V, C) };
}

describe('embedding gather against the storage-rounded reference', () => {
  for (const storage of ['f32', 'bf16x2', 'f16x2', 'f16'] as const) {
    for (const C of [1, 5, 40]) {
      it(`${storage}, V ${V}, C ${C}`, async ({ skip }) => {
        if (storage === 'f16' && !gpu.caps.features.shaderF16) {
          // Not a silent skip: this device genuinely lacks the feature, which the packed paths cover.
          skip(`device has no shader-f16 (${gpu.caps.adapter.description})`);
        }
        const { got, want } = await gather(storage, C, Uint32Array.from(someIds(C)), 'u32');
        expectClose(got, want, EXACT, `${storage} C ${C}`);
      });
    }
  }
});

describe('embedding with ids outside the table', () => {
  it('u32 ids V, 1000 and 2³²−1 give rows of zeros, neighbours unaffected (bf16x2, C 5)', async () => {
    const ids = Uint32Array.from([3, V, 0, 1000, 0xffffffff, V - 1]);
    const { got, want } = await gather('bf16x2', 5, ids, 'u32');
    expectClose(got, want, EXACT, 'out-of-range u32');
    expect(Array.from(got.subarray(5, 10))).toEqual([0, 0, 0, 0, 0]);
  });

  it('a negative i32 id gives a row of zeros (f16x2, C 1)', async () => {
    const ids = Int32Array.from([-1, 2, -2147483648, V - 1]);
    const { got, want } = await gather('f16x2', 1, ids, 'i32');
    expectClose(got, want, EXACT, 'negative i32');
    expect(got[0]).toBe(0);
    expect(got[2]).toBe(0);
  });
});

describe('embedding argument checks', () => {
  it('rejects a table too small for V × C', async () => {
    const ids = await gpu.createTensor('ids', [2], 'u32');
    const table = await gpu.createTensor('small-table', [V, 4]);
    const out = await gpu.createTensor('out', [2, 5]);
    expect(() => embeddingForward(gpu, { ids, table, out, N: 2, V, C: 5 })).toThrow(/E008 embedding: table \('small-table'/);
  });
});

describe('row-split tables', () => {
  it('gathering part by part (rows 0–14, 15–29, 30–36) equals gathering from the whole table', async () => {
    const C = 5;
    const table = normal(V * C, 77, 1);
    const ids = Uint32Array.from(someIds(9));
    const N = ids.length;
    const idsT = await upload(gpu, 'ids', ids, [N], 'u32');
    const out = await upload(gpu, 'out', uniform(N * C, 6, 10, 20), [N, C]);
    for (const [start, rows] of [[0, 15], [15, 15], [30, 7]] as const) {
      const part = await upload(gpu, `E[${start}]`, table.slice(start * C, (start + rows) * C), [rows, C]);
      embeddingForward(gpu, { ids: idsT, table: part, out, N, V: rows, C, part: { rowStart: start } });
    }
    expectClose(await gpu.read(out), embeddingRef(ids, table, V, C), EXACT, 'split gather');
  });
});
