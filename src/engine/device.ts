import { GpuErrorCode, StudioError } from './errors';

/** What this device can do, as shown on the capability screen and used to plan memory. */
export interface Capabilities {
  adapter: { vendor: string; architecture: string; device: string; description: string };
  /** True for software rasterisers (lavapipe, SwiftShader): fine for tests, far too slow to train. */
  isSoftware: boolean;
  /**
   * Memory the device can allocate, where the platform tells (WebGPU does not): set by the CLI for a
   * software adapter, whose buffers live in host memory (os.totalmem()). The model's load check keeps
   * its estimate under 80% of it, so an absurd config.json fails before the driver aborts the process.
   */
  memoryBytes?: number;
  features: { shaderF16: boolean; subgroups: boolean; timestampQuery: boolean };
  limits: {
    maxStorageBufferBindingSize: number;
    maxBufferSize: number;
    maxComputeWorkgroupStorageSize: number;
    maxComputeInvocationsPerWorkgroup: number;
    maxComputeWorkgroupSizeX: number;
    maxComputeWorkgroupsPerDimension: number;
    maxStorageBuffersPerShaderStage: number;
    minStorageBufferOffsetAlignment: number;
    minUniformBufferOffsetAlignment: number;
  };
}

export interface AcquiredDevice {
  device: GPUDevice;
  caps: Capabilities;
}

export interface AcquireOptions {
  /** A GPU object to use instead of navigator.gpu (Node passes Dawn's here, tests may pass their own). */
  gpu?: GPU;
  powerPreference?: GPUPowerPreference;
  /** Leave out shader-f16 even when present, to exercise the packed-weight path. */
  disableF16?: boolean;
}

const SOFTWARE_ADAPTERS = /llvmpipe|lavapipe|swiftshader|software/i;

/**
 * Dawn's GPU instance in Node. It must outlive every device made from it: if the instance is garbage
 * collected while a device lives, Dawn's worker threads crash the process (seen as random SIGSEGV /
 * SIGABRT during shader compilation). Holding it here for the life of the process prevents that.
 */
let nodeGpu: GPU | null = null;

/** Finds the WebGPU entry point of this runtime: navigator.gpu in a window or worker, Dawn in Node. */
async function findGpu(): Promise<GPU> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  if (proc?.versions?.node) {
    // The specifier is a variable so that browser bundlers leave Node's Dawn binding alone.
    const dawnPackage = 'webgpu';
    let mod: { create: (flags: string[]) => GPU; globals: Record<string, unknown> };
    try {
      mod = await import(/* @vite-ignore */ dawnPackage);
    } catch (e) {
      throw new StudioError(GpuErrorCode.unavailable, `the 'webgpu' package (Dawn for Node) could not be loaded: ${String(e)}`, 'run npm ci in the project root');
    }
    Object.assign(globalThis, mod.globals);
    nodeGpu ??= mod.create([]);
    return nodeGpu;
  }
  throw new StudioError(
    GpuErrorCode.unavailable,
    'this browser does not expose WebGPU (navigator.gpu is missing)',
    'use a current Chrome or Edge (113+), or Safari 26+, or Firefox 141+ on Windows; pages must be served over https or from localhost',
  );
}

/**
 * Acquires a GPU device in a window, a worker or Node, asking for the adapter's largest buffer and
 * workgroup-storage limits and for shader-f16, subgroups and timestamp-query where present.
 */
export async function acquireDevice(options: AcquireOptions = {}): Promise<AcquiredDevice> {
  const gpu = options.gpu ?? (await findGpu());
  const adapter = await gpu.requestAdapter({ powerPreference: options.powerPreference ?? 'high-performance' });
  if (!adapter) {
    throw new StudioError(
      GpuErrorCode.noAdapter,
      'WebGPU is present but no GPU adapter is available',
      'enable hardware acceleration in the browser settings, update the GPU driver, or on Linux install a Vulkan driver (Mesa lavapipe from bookworm-backports works for tests: apt-get install -t bookworm-backports mesa-vulkan-drivers)',
    );
  }
  const wanted: GPUFeatureName[] = [];
  const has = (f: string) => adapter.features.has(f);
  if (has('shader-f16') && !options.disableF16) wanted.push('shader-f16');
  if (has('subgroups')) wanted.push('subgroups' as GPUFeatureName);
  if (has('timestamp-query')) wanted.push('timestamp-query');
  const al = adapter.limits;
  const requiredLimits: Record<string, number> = {
    maxStorageBufferBindingSize: al.maxStorageBufferBindingSize,
    maxBufferSize: al.maxBufferSize,
    maxComputeWorkgroupStorageSize: al.maxComputeWorkgroupStorageSize,
    maxComputeInvocationsPerWorkgroup: al.maxComputeInvocationsPerWorkgroup,
    maxComputeWorkgroupSizeX: al.maxComputeWorkgroupSizeX,
    maxComputeWorkgroupSizeY: al.maxComputeWorkgroupSizeY,
    maxStorageBuffersPerShaderStage: al.maxStorageBuffersPerShaderStage,
  };
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredFeatures: wanted, requiredLimits });
  } catch (e) {
    throw new StudioError(GpuErrorCode.noAdapter, `the GPU adapter refused a device: ${String(e)}`, 'close other GPU-heavy tabs and reload');
  }
  const info = adapter.info;
  const description = [info.vendor, info.architecture, info.device, info.description].filter(Boolean).join(' ') || 'unknown adapter';
  const dl = device.limits;
  return {
    device,
    caps: {
      adapter: { vendor: info.vendor, architecture: info.architecture, device: info.device, description },
      isSoftware: SOFTWARE_ADAPTERS.test(description),
      features: {
        shaderF16: device.features.has('shader-f16'),
        subgroups: device.features.has('subgroups'),
        timestampQuery: device.features.has('timestamp-query'),
      },
      limits: {
        maxStorageBufferBindingSize: dl.maxStorageBufferBindingSize,
        maxBufferSize: dl.maxBufferSize,
        maxComputeWorkgroupStorageSize: dl.maxComputeWorkgroupStorageSize,
        maxComputeInvocationsPerWorkgroup: dl.maxComputeInvocationsPerWorkgroup,
        maxComputeWorkgroupSizeX: dl.maxComputeWorkgroupSizeX,
        maxComputeWorkgroupsPerDimension: dl.maxComputeWorkgroupsPerDimension,
        maxStorageBuffersPerShaderStage: dl.maxStorageBuffersPerShaderStage,
        minStorageBufferOffsetAlignment: dl.minStorageBufferOffsetAlignment,
        minUniformBufferOffsetAlignment: dl.minUniformBufferOffsetAlignment,
      },
    },
  };
}
