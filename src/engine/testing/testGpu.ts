import { acquireDevice } from '../device';
import type { AcquireOptions } from '../device';
import { Gpu } from '../runtime';
import type { Tensor } from '../tensor';
import type { DType } from '../dtype';

let shared: Promise<Gpu> | null = null;

const INSTALL_HINT =
  'Node tests run WebGPU on Mesa lavapipe through Dawn (the `webgpu` npm package). Install the driver with ' +
  '`bash .ci/install-system` (it adds bookworm-backports and runs `apt-get install -t bookworm-backports mesa-vulkan-drivers`); ' +
  "Debian 12's own mesa-vulkan-drivers 22.x is too old for Dawn.";

/**
 * The GPU of a test file, acquired once. A missing driver fails the test with what to install;
 * nothing is skipped.
 */
export function testGpu(options: AcquireOptions = {}): Promise<Gpu> {
  shared ??= (async () => {
    try {
      const { device, caps } = await acquireDevice(options);
      return new Gpu(device, caps);
    } catch (e) {
      throw new Error(`No WebGPU device for the tests: ${e instanceof Error ? e.message : String(e)}\n${INSTALL_HINT}`);
    }
  })();
  return shared;
}

/** Creates a tensor and uploads `data` into it (test convenience). */
export async function upload(gpu: Gpu, name: string, data: Float32Array | Uint32Array | Int32Array | Uint8Array, shape: readonly number[], dtype: DType = 'f32'): Promise<Tensor> {
  const t = await gpu.createTensor(name, shape, dtype);
  gpu.write(t, data);
  return t;
}
