import { describe, expect, it } from 'vitest';
import { numelOf } from './adapterFormat';
import { shadowConfig } from './config';
import { resolveExplicitShadow, resolveShadow } from './resolve';
import { EMBED_KEY, gpuParamSpecs, PORTABLE_BINDING_BYTES } from './shadowParams';
import { QWEN3_0_6B, QWEN3_8B } from './testing/baseArchitectures';

describe('GPU tensors of an adapter', () => {
  const explicit = resolveExplicitShadow(shadowConfig(), QWEN3_8B, QWEN3_0_6B, { ownEmbeddings: true });

  it('an embedding table too large for one binding is cut into ≤ 128 MiB row parts that tile it', () => {
    const parts = gpuParamSpecs(explicit, 2 ** 31).filter((s) => s.fileKey === EMBED_KEY);
    expect(parts.length).toBe(Math.ceil((151936 * 1024 * 4) / PORTABLE_BINDING_BYTES));
    let next = 0;
    for (const p of parts) {
      expect(numelOf(p.shape) * 4).toBeLessThanOrEqual(PORTABLE_BINDING_BYTES);
      expect([p.rowStart, p.fileOffset]).toEqual([next, next * 1024]);
      next += p.shape[0]!;
    }
    expect(next).toBe(151936);
  });

  it('the same names on every real device (binding limits of 128 MiB, 2 GiB, 4 GiB), so checkpoints move between them', () => {
    const names = (limit: number) => gpuParamSpecs(explicit, limit).map((s) => s.name);
    expect(names(2 ** 31)).toEqual(names(128 * 2 ** 20));
    expect(names(2 ** 32)).toEqual(names(128 * 2 ** 20));
  });

  it('stacked injection tensors become one tensor per slot; nothing else is split', () => {
    const r = resolveShadow(shadowConfig(), QWEN3_0_6B);
    const specs = gpuParamSpecs(r, 2 ** 31);
    const downs = specs.filter((s) => s.fileKey === 'shadow_injection_model.injection_downs');
    expect(downs.map((s) => [s.name, s.fileOffset])).toEqual(Array.from({ length: 27 }, (_, k) => [`shadow_injection_model.injection_downs.${k}`, k * 1024 * 16]));
    expect(specs.every((s) => s.trainable)).toBe(true);
  });
});
