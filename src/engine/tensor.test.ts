import { describe, expect, it } from 'vitest';
import type { Tensor } from './tensor';
import { buffersOf } from './tensor';

/** A stand-in buffer (no GPU needed to test the walk). */
function fakeBuffer(): GPUBuffer {
  return { size: 16, destroy() {}, mapAsync() {} } as unknown as GPUBuffer;
}
const tensor = (buffer: GPUBuffer, offset = 0): Tensor => ({ buffer, offset, shape: [2], dtype: 'f32', name: 't' });

describe('buffersOf', () => {
  it('finds every tensor of nested records and arrays once, raw buffers too, and leaves class instances alone', () => {
    const [a, b, c, raw, owned] = [fakeBuffer(), fakeBuffer(), fakeBuffer(), fakeBuffer(), fakeBuffer()];
    class Holder {
      t = tensor(owned);
    }
    const ws = { x: tensor(a), list: [tensor(b), tensor(b, 256)], nested: { deeper: { y: tensor(c) } }, raw, holder: new Holder(), n: 3, none: null };
    expect([...buffersOf(ws)]).toEqual([a, b, c, raw]);
  });
});
