import type { Capabilities } from './device';
import type { DType } from './dtype';
import { byteSize } from './dtype';
import { GpuErrorCode, StudioError } from './errors';
import type { KernelSpec } from './kernel';
import type { ParamDecl, ParamValues } from './params';
import { packParams, paramsByteSize } from './params';
import type { Tensor } from './tensor';
import { binding, buffersOf, numel, shapeString, tensorBytes } from './tensor';

/**
 * GPUBufferUsage / GPUMapMode values from the WebGPU spec. The globals exist only once an
 * implementation is installed (in Node, after Dawn loads), so modules must not read them at import.
 */
export const Usage = { MAP_READ: 0x0001, COPY_SRC: 0x0004, COPY_DST: 0x0008, UNIFORM: 0x0040, STORAGE: 0x0080, QUERY_RESOLVE: 0x0200 } as const;
const MAP_MODE_READ = 0x0001;
const STORAGE_USAGE = Usage.STORAGE | Usage.COPY_SRC | Usage.COPY_DST;
/** Bytes of uniform data one batch may hold before it is submitted (1024 dispatches at 256 B). */
const UNIFORM_RING_BYTES = 256 * 1024;

export type Workgroups = readonly [number, number?, number?];
type Bindable = Tensor | GPUBufferBinding;

/**
 * The WebGPU runtime every layer above uses: pipeline cache, batched dispatch, uploads, readback,
 * error scopes turned into coded errors, and GPU timing. One instance per device.
 *
 * Dispatches are recorded into one command encoder and one compute pass and submitted together on
 * `flush()` (or implicitly by `read`, `write`, `sync`). Each dispatch's uniform parameters go into a
 * CPU staging block that is uploaded once per batch.
 */
export class Gpu {
  readonly device: GPUDevice;
  readonly caps: Capabilities;
  private readonly pipelines = new Map<string, GPUComputePipeline>();
  private readonly pendingPipelines = new Map<string, Promise<GPUComputePipeline>>();
  private encoder: GPUCommandEncoder | null = null;
  private pass: GPUComputePassEncoder | null = null;
  private readonly uniformAlign: number;
  private readonly uniformBuffer: GPUBuffer;
  private readonly uniformStaging = new ArrayBuffer(UNIFORM_RING_BYTES);
  private uniformUsed = 0;
  private readonly errorChecks: Promise<GPUError | null>[] = [];
  private firstUncaptured: GPUError | null = null;
  private timing: { querySet: GPUQuerySet; open: boolean; passes: number; resolved?: GPUBuffer } | null = null;
  private lost: { reason: string; message: string } | null = null;
  /** set by destroy(): the loss that follows is the studio's own doing, not reported */
  private disposed = false;
  private readonly lostListeners: ((info: { reason: string; message: string }) => void)[] = [];
  /** Dispatches recorded since creation: a cheap counter for tests and benchmarks. */
  dispatchCount = 0;
  /** Every storage buffer created through createBuffer and not yet released, with its size. */
  private readonly live = new Map<GPUBuffer, number>();
  private liveBytes = 0;

  constructor(device: GPUDevice, caps: Capabilities) {
    this.device = device;
    this.caps = caps;
    this.uniformAlign = Math.max(caps.limits.minUniformBufferOffsetAlignment, 16);
    this.uniformBuffer = device.createBuffer({ label: 'uniform-ring', size: UNIFORM_RING_BYTES, usage: Usage.UNIFORM | Usage.COPY_DST });
    device.addEventListener('uncapturederror', (ev) => {
      this.firstUncaptured ??= (ev as GPUUncapturedErrorEvent).error;
    });
    device.lost.then((info) => {
      this.lost = { reason: info.reason, message: info.message };
      // A loss not caused by destroy() (a driver reset, a GPU process crash, or a test's device.destroy()).
      if (!this.disposed) for (const listener of this.lostListeners.splice(0)) listener(this.lost);
    });
  }

  /**
   * Calls `listener` once when the device is lost, unless this runtime destroyed it itself. Every GPU
   * object made on this runtime is gone then: the owner must make them again on a new device.
   */
  onLost(listener: (info: { reason: string; message: string }) => void): void {
    if (this.lost) {
      if (!this.disposed) queueMicrotask(() => listener(this.lost!));
    } else this.lostListeners.push(listener);
  }

  /** Whether the device is lost (or destroyed): nothing made on it can be used any more. */
  get isLost(): boolean {
    return this.lost !== null;
  }

  // ---------------------------------------------------------------- memory

  /** Allocates a standalone storage tensor. Out-of-memory and over-limit sizes become coded errors. */
  async createTensor(name: string, shape: readonly number[], dtype: DType = 'f32', extraUsage = 0): Promise<Tensor> {
    const bytes = Math.max(4, Math.ceil(byteSize(dtype, numel(shape)) / 4) * 4);
    const buffer = await this.createBuffer(name, bytes, STORAGE_USAGE | extraUsage);
    return { buffer, offset: 0, shape: [...shape], dtype, name };
  }

  /** Creates a raw buffer under an out-of-memory error scope. */
  async createBuffer(label: string, size: number, usage: number = STORAGE_USAGE): Promise<GPUBuffer> {
    this.assertAlive();
    const { maxBufferSize } = this.caps.limits;
    if (size > maxBufferSize) {
      throw new StudioError(GpuErrorCode.tooLarge, `buffer '${label}' needs ${formatBytes(size)} but this device allows at most ${formatBytes(maxBufferSize)} per buffer`, 'use a shorter sequence length or a smaller batch, or split the tensor by rows');
    }
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    const buffer = this.device.createBuffer({ label, size, usage });
    const validation = await this.device.popErrorScope();
    const oom = await this.device.popErrorScope();
    if (oom) {
      buffer.destroy();
      throw new StudioError(GpuErrorCode.outOfMemory, `GPU out of memory allocating '${label}' (${formatBytes(size)}): ${oom.message}`, 'close other GPU-heavy tabs or programs, or use a smaller batch, sequence length or model');
    }
    if (validation) {
      buffer.destroy();
      throw new StudioError(GpuErrorCode.validation, `could not create buffer '${label}' (${formatBytes(size)}): ${validation.message}`);
    }
    this.live.set(buffer, size);
    this.liveBytes += size;
    return buffer;
  }

  /**
   * Frees the buffers of every tensor in `value` (a tensor, a GPUBuffer, or arrays and plain objects
   * of them; see buffersOf). Work already recorded is submitted first: WebGPU lets a buffer be
   * destroyed once the commands that use it are submitted (it is freed after they finish), but a
   * command still being recorded would fail at submit ("used in submit while destroyed"). The one
   * place GPU memory is given back, so allocatedBytes stays true.
   */
  release(value: unknown): void {
    const buffers = buffersOf(value);
    if (buffers.size === 0) return;
    this.flush();
    for (const b of buffers) {
      const size = this.live.get(b);
      if (size === undefined) continue; // already released, or not this runtime's
      this.live.delete(b);
      this.liveBytes -= size;
      b.destroy();
    }
  }

  /** Bytes of storage buffers created and not yet released: the studio's own GPU memory, counted by the allocator. */
  get allocatedBytes(): number {
    return this.liveBytes;
  }

  /** Storage buffers created and not yet released. */
  get allocatedBuffers(): number {
    return this.live.size;
  }

  /** Bytes held per buffer label (which owner forgot to release what, when a count does not return). */
  allocationsByLabel(): Map<string, number> {
    const out = new Map<string, number>();
    for (const [b, size] of this.live) out.set(b.label, (out.get(b.label) ?? 0) + size);
    return out;
  }

  /** Uploads data into a tensor. Pending dispatches are submitted first so the write lands after them. */
  write(t: Tensor, data: ArrayBufferView, elementOffset = 0): void {
    this.flush();
    const bytes = data.byteLength;
    const offset = t.offset + byteSize(t.dtype, elementOffset);
    if (byteSize(t.dtype, elementOffset) + bytes > Math.ceil(tensorBytes(t) / 4) * 4) {
      throw new StudioError(GpuErrorCode.badArgument, `write of ${bytes} bytes overflows tensor '${t.name}' ${shapeString(t.shape)} ${t.dtype}`);
    }
    const padded = bytes % 4 === 0 ? data : padTo4(data);
    this.device.queue.writeBuffer(t.buffer, offset, padded.buffer, padded.byteOffset, padded.byteLength);
  }

  /** Fills a tensor with zeros (recorded in order with dispatches). */
  zero(t: Tensor): void {
    const size = Math.ceil(tensorBytes(t) / 4) * 4;
    this.endPass();
    this.getEncoder().clearBuffer(t.buffer, t.offset, size);
  }

  /** Fills a whole buffer with zeros (an arena's buffer: every view in it at once). */
  zeroBuffer(buffer: GPUBuffer): void {
    this.endPass();
    this.getEncoder().clearBuffer(buffer, 0, buffer.size);
  }

  /** Copies `src` into `dst` (same byte size), recorded in order with dispatches. */
  copy(src: Tensor, dst: Tensor): void {
    const size = Math.ceil(tensorBytes(src) / 4) * 4;
    if (size !== Math.ceil(tensorBytes(dst) / 4) * 4) {
      throw new StudioError(GpuErrorCode.badArgument, `copy from '${src.name}' ${shapeString(src.shape)} to '${dst.name}' ${shapeString(dst.shape)}: sizes differ`);
    }
    this.endPass();
    this.getEncoder().copyBufferToBuffer(src.buffer, src.offset, dst.buffer, dst.offset, size);
  }

  /** Reads a tensor back as raw bytes (whole words). */
  async readBytes(t: Tensor): Promise<ArrayBuffer> {
    const size = Math.ceil(tensorBytes(t) / 4) * 4;
    const staging = this.device.createBuffer({ label: `read:${t.name}`, size, usage: Usage.MAP_READ | Usage.COPY_DST });
    this.endPass();
    this.getEncoder().copyBufferToBuffer(t.buffer, t.offset, staging, 0, size);
    this.flush();
    try {
      await staging.mapAsync(MAP_MODE_READ);
    } catch (e) {
      staging.destroy();
      // A mapping aborted by a lost device may reject before device.lost settles: give it a moment.
      if (!this.lost) await Promise.race([this.device.lost, new Promise((r) => setTimeout(r, 100))]);
      if (this.lost) throw this.lostError()!;
      await this.checkErrors();
      throw new StudioError(GpuErrorCode.internal, `reading '${t.name}' failed: ${String(e)}`);
    }
    const out = staging.getMappedRange().slice(0);
    staging.destroy();
    await this.checkErrors();
    return out;
  }

  /** Reads an f32 tensor back. */
  async read(t: Tensor): Promise<Float32Array> {
    if (t.dtype !== 'f32') throw new StudioError(GpuErrorCode.badArgument, `read() expects an f32 tensor, '${t.name}' is ${t.dtype}; use readBytes()`);
    return new Float32Array(await this.readBytes(t), 0, numel(t.shape));
  }

  async readU32(t: Tensor): Promise<Uint32Array> {
    return new Uint32Array(await this.readBytes(t), 0, numel(t.shape));
  }

  // ---------------------------------------------------------------- pipelines

  /** The cached pipeline of a kernel variant, created synchronously on first use. */
  pipeline(spec: KernelSpec): GPUComputePipeline {
    let p = this.pipelines.get(spec.key);
    if (!p) {
      const module = this.device.createShaderModule({ label: spec.key, code: spec.code });
      p = this.device.createComputePipeline({ label: spec.key, layout: 'auto', compute: { module, entryPoint: spec.entryPoint, constants: spec.constants } });
      this.pipelines.set(spec.key, p);
    }
    return p;
  }

  /**
   * Compiles pipelines ahead of use with createComputePipelineAsync, so that the first training step
   * does not stall on shader compilation. Compile errors name the kernel variant.
   */
  async preparePipelines(specs: readonly KernelSpec[]): Promise<void> {
    await Promise.all(
      specs.map((spec) => {
        if (this.pipelines.has(spec.key)) return Promise.resolve();
        let pending = this.pendingPipelines.get(spec.key);
        if (!pending) {
          const module = this.device.createShaderModule({ label: spec.key, code: spec.code });
          pending = this.device
            .createComputePipelineAsync({ label: spec.key, layout: 'auto', compute: { module, entryPoint: spec.entryPoint, constants: spec.constants } })
            .then(
              (p) => {
                this.pipelines.set(spec.key, p);
                return p;
              },
              (e: unknown) => {
                throw new StudioError(GpuErrorCode.validation, `kernel '${spec.key}' failed to compile: ${e instanceof Error ? e.message : String(e)}`, 'this is a bug in the studio; please report it with your browser and GPU');
              },
            )
            .finally(() => this.pendingPipelines.delete(spec.key));
          this.pendingPipelines.set(spec.key, pending);
        }
        return pending.then(() => undefined);
      }),
    );
  }

  get pipelineCount(): number {
    return this.pipelines.size;
  }

  // ---------------------------------------------------------------- dispatch

  /**
   * Records one dispatch. Binding 0 is the kernel's uniform `Params`; bindings 1.. are `buffers` in
   * order. Workgroup counts above the device's per-dimension limit must be split by the caller
   * (see `grid`).
   */
  dispatch<P extends ParamDecl>(spec: KernelSpec<P>, params: ParamValues<P>, buffers: readonly Bindable[], workgroups: Workgroups): void {
    this.assertAlive();
    const [x, y = 1, z = 1] = workgroups;
    if (x === 0 || y === 0 || z === 0) return;
    const maxWg = this.caps.limits.maxComputeWorkgroupsPerDimension;
    if (x > maxWg || y > maxWg || z > maxWg) {
      throw new StudioError(GpuErrorCode.badArgument, `kernel '${spec.key}' dispatch (${x}, ${y}, ${z}) exceeds ${maxWg} workgroups per dimension`);
    }
    const pipeline = this.pipeline(spec);
    const size = paramsByteSize(spec.params);
    const slot = Math.ceil(size / this.uniformAlign) * this.uniformAlign;
    if (this.uniformUsed + slot > UNIFORM_RING_BYTES) this.flush();
    const offset = this.uniformUsed;
    packParams(spec.params, params, new DataView(this.uniformStaging), offset);
    this.uniformUsed += slot;
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.uniformBuffer, offset, size } }];
    const maxBinding = this.caps.limits.maxStorageBufferBindingSize;
    buffers.forEach((b, i) => {
      const resource = 'shape' in b ? binding(b) : b;
      if ((resource.size ?? 0) > maxBinding) {
        throw new StudioError(GpuErrorCode.tooLarge, `kernel '${spec.key}': tensor '${'name' in b ? b.name : `binding ${i + 1}`}' (${formatBytes(resource.size ?? 0)}) exceeds this device's largest storage binding (${formatBytes(maxBinding)})`, 'split it by rows (see RowSplitMatrix), or use a smaller batch or sequence length');
      }
      entries.push({ binding: i + 1, resource });
    });
    const bindGroup = this.device.createBindGroup({ label: spec.key, layout: pipeline.getBindGroupLayout(0), entries });
    const pass = this.getPass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    pass.dispatchWorkgroups(x, y, z);
    this.dispatchCount++;
  }

  /**
   * Splits `count` workgroups over x and y so that neither exceeds the device limit. Shaders
   * linearise with `wid.x + wid.y * nwg.x` and bounds-check the result.
   */
  grid(count: number): [number, number, number] {
    const maxWg = this.caps.limits.maxComputeWorkgroupsPerDimension;
    if (count <= maxWg) return [Math.max(count, 1), 1, 1];
    const y = Math.ceil(count / maxWg);
    return [Math.ceil(count / y), y, 1];
  }

  /** Submits everything recorded so far. */
  flush(): void {
    if (!this.encoder) return;
    this.endPass();
    if (this.timing?.open) this.resolveTiming();
    if (this.uniformUsed > 0) this.device.queue.writeBuffer(this.uniformBuffer, 0, this.uniformStaging, 0, this.uniformUsed);
    this.uniformUsed = 0;
    const cmd = this.encoder.finish();
    this.encoder = null;
    this.device.pushErrorScope('out-of-memory');
    this.device.pushErrorScope('validation');
    this.device.queue.submit([cmd]);
    const validation = this.device.popErrorScope();
    const oom = this.device.popErrorScope();
    this.errorChecks.push(validation, oom);
  }

  /** Waits for all submitted work and turns any GPU error since the last check into a coded error. */
  async sync(): Promise<void> {
    this.flush();
    await this.device.queue.onSubmittedWorkDone();
    await this.checkErrors();
  }

  /** Measures the GPU time of the dispatches `record` makes: timestamp queries where available, else wall time to completion. */
  async time(record: () => void): Promise<{ ms: number; source: 'timestamp-query' | 'wall' }> {
    await this.sync();
    if (!this.caps.features.timestampQuery) {
      const t0 = performance.now();
      record();
      await this.sync();
      return { ms: performance.now() - t0, source: 'wall' };
    }
    const querySet = this.device.createQuerySet({ type: 'timestamp', count: 2 });
    this.timing = { querySet, open: true, passes: 0 };
    record();
    if (!this.encoder) this.getEncoder();
    this.flush();
    const resolvedBuffer = this.timing.resolved!;
    this.timing = null;
    const staging = this.device.createBuffer({ size: 16, usage: Usage.MAP_READ | Usage.COPY_DST });
    const enc = this.device.createCommandEncoder();
    enc.copyBufferToBuffer(resolvedBuffer, 0, staging, 0, 16);
    this.device.queue.submit([enc.finish()]);
    await staging.mapAsync(MAP_MODE_READ);
    const [begin, end] = new BigUint64Array(staging.getMappedRange().slice(0));
    staging.destroy();
    resolvedBuffer.destroy();
    querySet.destroy();
    await this.checkErrors();
    return { ms: Number(end! - begin!) / 1e6, source: 'timestamp-query' };
  }

  destroy(): void {
    this.disposed = true;
    this.release([...this.live.keys()]);
    this.uniformBuffer.destroy();
    this.device.destroy();
  }

  // ---------------------------------------------------------------- internals

  private getEncoder(): GPUCommandEncoder {
    this.encoder ??= this.device.createCommandEncoder();
    return this.encoder;
  }

  private getPass(): GPUComputePassEncoder {
    if (!this.pass) {
      const desc: GPUComputePassDescriptor = {};
      if (this.timing?.open) {
        // The first pass of a timed region writes the start; every pass writes the end, so the last one wins.
        desc.timestampWrites = {
          querySet: this.timing.querySet,
          ...(this.timing.passes === 0 ? { beginningOfPassWriteIndex: 0 } : {}),
          endOfPassWriteIndex: 1,
        };
        this.timing.passes++;
      }
      this.pass = this.getEncoder().beginComputePass(desc);
    }
    return this.pass;
  }

  private endPass(): void {
    if (this.pass) {
      this.pass.end();
      this.pass = null;
    }
  }

  private resolveTiming(): void {
    const timing = this.timing!;
    if (timing.passes === 0) {
      // Nothing was dispatched: time an empty pass so both queries are written.
      this.getPass();
      this.endPass();
    }
    const resolved = this.device.createBuffer({ size: 16, usage: Usage.QUERY_RESOLVE | Usage.COPY_SRC });
    this.getEncoder().resolveQuerySet(timing.querySet, 0, 2, resolved, 0);
    timing.open = false;
    timing.resolved = resolved;
  }

  private async checkErrors(): Promise<void> {
    const checks = this.errorChecks.splice(0);
    const errors = (await Promise.all(checks)).filter((e): e is GPUError => e !== null);
    const uncaptured = this.firstUncaptured;
    this.firstUncaptured = null;
    // An error raised while recording (outside any scope) is the root cause; the submit error that
    // follows only says the command buffer was invalid "due to a previous error".
    const err = uncaptured ?? errors[0];
    if (this.lost) throw this.lostError()!;
    if (!err) return;
    if (err.constructor.name === 'GPUOutOfMemoryError' || /out of memory/i.test(err.message)) {
      throw new StudioError(GpuErrorCode.outOfMemory, `GPU out of memory: ${err.message}`, 'use a smaller batch, a shorter sequence length or a smaller model');
    }
    throw new StudioError(GpuErrorCode.validation, `GPU validation error: ${err.message}`, 'this is a bug in the studio; please report it with your browser and GPU');
  }

  /** E005 once the device is lost (null before): what every later use of this runtime throws. */
  lostError(): StudioError | null {
    if (!this.lost) return null;
    return new StudioError(
      GpuErrorCode.deviceLost,
      `the GPU device was lost (${this.lost.reason}${this.lost.message ? `: ${this.lost.message}` : ''}), and with it everything on the GPU`,
      'load the model again (a new device is acquired) and resume from the last checkpoint, which is kept in browser storage; if it happens again, close other GPU-heavy tabs or reload the page',
    );
  }

  private assertAlive(): void {
    const e = this.lostError();
    if (e) throw e;
  }
}

function padTo4(data: ArrayBufferView): Uint8Array {
  const out = new Uint8Array(Math.ceil(data.byteLength / 4) * 4);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return out;
}

export function formatBytes(n: number): string {
  if (n >= 2 ** 30) return `${(n / 2 ** 30).toFixed(2)} GiB`;
  if (n >= 2 ** 20) return `${(n / 2 ** 20).toFixed(1)} MiB`;
  if (n >= 2 ** 10) return `${(n / 2 ** 10).toFixed(1)} KiB`;
  return `${n} B`;
}
