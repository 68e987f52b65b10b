import { describe, expect, it } from 'vitest';
import type { Tensor } from './tensor';
import { destroyTensors } from './tensor';

/** A stand-in buffer that counts its destroy() calls (no GPU needed to test the walk). */
function fakeBuffer(): GPUBuffer & { destroyed: number } {
  const b = { destroyed: 0, destroy() { b.destroyed++; } };
  return b as unknown as GPUBuffer & { destroyed: number };
}
const tensor = (buffer: GPUBuffer, offset = 0): Tensor => ({ buffer, offset, shape: [2], dtype: 'f32', name: 't' });

describe('destroyTensors', () => {
  it('frees every tensor of nested records and arrays once, and leaves class instances alone', () => {
    const [a, b, c, owned] = [fakeBuffer(), fakeBuffer(), fakeBuffer(), fakeBuffer()];
    class Holder {
      t = tensor(owned);
    }
    const ws = { x: tensor(a), list: [tensor(b), tensor(b, 256)], nested: { deeper: { y: tensor(c) } }, holder: new Holder(), n: 3, none: null };
    destroyTensors(ws);
    expect([a.destroyed, b.destroyed, c.destroyed, owned.destroyed]).toEqual([1, 1, 1, 0]);
  });
});
