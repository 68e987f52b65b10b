import { strFromU8, strToU8, unzipSync, zipSync } from 'fflate';
import { describe, expect, it } from 'vitest';
import type { AdapterImportError } from './adapterZip';
import { buildAdapterZip, readAdapterUpload, safetensorsHeader } from './adapterZip';

/** A minimal valid safetensors file: one F32 tensor of shape (2). */
function safetensors(): Uint8Array {
  const header = strToU8(JSON.stringify({ 'shadow_model.norm.weight': { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, __metadata__: { base_model: 'tiny' } }));
  const out = new Uint8Array(8 + header.length + 8);
  new DataView(out.buffer).setBigUint64(0, BigInt(header.length), true);
  out.set(header, 8);
  const view = new DataView(out.buffer);
  view.setFloat32(8 + header.length, 1, true);
  view.setFloat32(12 + header.length, 2, true);
  return out;
}
const config = '{\n  "alpha": 0.1\n}\n';

describe('buildAdapterZip', () => {
  it('holds the four files with their exact contents', () => {
    const st = safetensors();
    const zip = buildAdapterZip({ configJson: config, safetensors: st.slice().buffer, readme: '# card', lossCsv: 'step,loss\n1,2\n' });
    const files = unzipSync(zip);
    expect(Object.keys(files).sort()).toEqual(['README.md', 'loss_history.csv', 'shadow_adapter.safetensors', 'shadow_config.json']);
    expect(strFromU8(files['shadow_config.json']!)).toBe(config);
    expect(Array.from(files['shadow_adapter.safetensors']!)).toEqual(Array.from(st));
    expect(strFromU8(files['README.md']!)).toBe('# card');
    expect(Object.keys(safetensorsHeader(files['shadow_adapter.safetensors']!))).toContain('shadow_model.norm.weight');
  });
});

describe('readAdapterUpload', () => {
  it('reads our zip back', () => {
    const zip = buildAdapterZip({ configJson: config, safetensors: safetensors(), readme: '', lossCsv: '' });
    const p = readAdapterUpload([{ name: 'adapter.zip', bytes: zip }]);
    expect(p.configJson).toBe(config);
    expect(new Uint8Array(p.safetensors)).toEqual(safetensors());
  });

  it('reads a zipped folder saved by the Python package (files under a directory)', () => {
    const zip = zipSync({ 'my-adapter/shadow_config.json': strToU8(config), 'my-adapter/shadow_adapter.safetensors': safetensors(), 'my-adapter/shadow_modules.safetensors': new Uint8Array(9) });
    const p = readAdapterUpload([{ name: 'x.zip', bytes: zip }]);
    expect(new Uint8Array(p.safetensors)).toEqual(safetensors());
  });

  it('reads the two files picked side by side', () => {
    const p = readAdapterUpload([
      { name: 'shadow_adapter.safetensors', bytes: safetensors() },
      { name: 'shadow_config.json', bytes: strToU8(config) },
    ]);
    expect(p.configJson).toBe(config);
  });

  it('explains what is missing or broken, with a fix', () => {
    const err = (f: () => unknown) => {
      try {
        f();
      } catch (e) {
        return e as AdapterImportError;
      }
      throw new Error('expected an error');
    };
    const noWeights = err(() => readAdapterUpload([{ name: 'shadow_config.json', bytes: strToU8(config) }]));
    expect(noWeights.code).toBe('E803');
    expect(noWeights.message).toContain('shadow_config.json');
    expect(noWeights.hint).toMatch(/select/);
    expect(err(() => readAdapterUpload([{ name: 'w.safetensors', bytes: safetensors() }])).code).toBe('E802');
    expect(err(() => readAdapterUpload([{ name: 'shadow_config.json', bytes: strToU8('{oops') }, { name: 'shadow_adapter.safetensors', bytes: safetensors() }])).code).toBe('E804');
    expect(err(() => readAdapterUpload([{ name: 'a.zip', bytes: strToU8('PK\u0003\u0004garbage') }])).code).toBe('E801');
  });
});
