import { describe, expect, it } from 'vitest';
import { acquireDevice } from './device';
import { GpuErrorCode } from './errors';
import { Gpu } from './runtime';

/** A runtime on a device of its own (each case destroys it). */
async function ownGpu(): Promise<Gpu> {
  const { device, caps } = await acquireDevice();
  return new Gpu(device, caps);
}

describe('a lost device', () => {
  it('is reported once to every onLost listener, and every later use throws E005 with a hint', async () => {
    const gpu = await ownGpu();
    const t = await gpu.createTensor('t', [4]);
    gpu.write(t, new Float32Array([1, 2, 3, 4]));
    expect(Array.from(await gpu.read(t))).toEqual([1, 2, 3, 4]);
    const seen: string[] = [];
    gpu.onLost((info) => seen.push(`a:${info.reason}`));
    gpu.onLost((info) => seen.push(`b:${info.reason}`));
    expect(gpu.isLost).toBe(false);
    expect(gpu.lostError()).toBeNull();
    // A read in flight when the device goes: E005, not an internal error.
    const reading = gpu.read(t);
    gpu.device.destroy();
    await expect(reading).rejects.toMatchObject({ code: GpuErrorCode.deviceLost });
    expect(seen).toEqual(['a:destroyed', 'b:destroyed']);
    expect(gpu.isLost).toBe(true);
    await expect(gpu.read(t)).rejects.toThrow(/^E005 the GPU device was lost \(destroyed.*\), and with it everything on the GPU — load the model again/);
    await expect(gpu.createTensor('u', [4])).rejects.toMatchObject({ code: GpuErrorCode.deviceLost });
    await expect(gpu.sync()).rejects.toMatchObject({ code: GpuErrorCode.deviceLost });
    // a listener registered after the loss still hears of it (once)
    const late = await new Promise<string>((resolve) => gpu.onLost((info) => resolve(info.reason)));
    expect(late).toBe('destroyed');
    expect(seen.length).toBe(2);
    // freeing what was made on the lost device is harmless
    gpu.release(t);
    expect(gpu.allocatedBytes).toBe(0);
  });

  it('is not reported when the runtime destroys its own device', async () => {
    const gpu = await ownGpu();
    const seen: string[] = [];
    gpu.onLost((info) => seen.push(info.reason));
    gpu.destroy();
    await gpu.device.lost;
    await new Promise((r) => setTimeout(r, 10));
    expect(seen).toEqual([]);
    expect(gpu.isLost).toBe(true);
  });
});
