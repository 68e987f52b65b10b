import { describe, expect, it } from 'vitest';
import { packParams, paramsByteSize, paramsStruct } from './params';
import { renderWgsl } from './wgsl';

describe('renderWgsl', () => {
  it('substitutes values and keeps or drops #if blocks, nested, with #elif and #else', () => {
    const src = ['a {{T}}', '#if X', 'x', '#if !Y', 'not-y', '#endif', '#elif Y', 'y', '#else', 'neither', '#endif', 'z'].join('\n');
    expect(renderWgsl(src, { T: 'f32' }, { X: true })).toBe('a f32\nx\nnot-y\nz');
    expect(renderWgsl(src, { T: 'f16' }, { Y: true })).toBe('a f16\ny\nz');
    expect(renderWgsl(src, { T: 'u32' }, {})).toBe('a u32\nneither\nz');
  });
  it('splices shared pieces with their own values; the kernel\'s values and #ifs apply inside them', () => {
    const includes = { sum: 'fn s(v: {{T}}) -> {{T}} { return v; }', gate: '#if M\nmasked {{U}}\n#endif', outer: 'before\n#include gate\nafter' };
    expect(renderWgsl('a\n#include sum T=vec2<f32>\nb', {}, {}, includes)).toBe('a\nfn s(v: vec2<f32>) -> vec2<f32> { return v; }\nb');
    expect(renderWgsl('#include outer', { U: 'u32' }, { M: true }, includes)).toBe('before\nmasked u32\nafter');
    expect(renderWgsl('#include outer', { U: 'u32' }, {}, includes)).toBe('before\nafter');
    expect(() => renderWgsl('#include nothing', {}, {}, includes)).toThrow(/no shared piece 'nothing'/);
    expect(() => renderWgsl('#include sum T', {}, {}, includes)).toThrow(/malformed include/);
    expect(() => renderWgsl('#include loop', {}, {}, { loop: '#include loop' })).toThrow(/includes itself/);
    expect(() => renderWgsl('#include sum', {}, {}, includes)).toThrow(/no value for \{\{T\}\}/);
  });
  it('refuses unknown values and unbalanced blocks', () => {
    expect(() => renderWgsl('{{MISSING}}')).toThrow(/no value for \{\{MISSING\}\}/);
    expect(() => renderWgsl('#if A\nx')).toThrow(/unterminated/);
    expect(() => renderWgsl('#endif')).toThrow(/without #if/);
  });
});

describe('uniform params from one declaration', () => {
  const decl = { rows: 'u32', offset: 'i32', eps: 'f32' } as const;
  it('generates the WGSL struct in declaration order', () => {
    expect(paramsStruct(decl)).toBe('struct Params {\n  rows: u32,\n  offset: i32,\n  eps: f32,\n}');
  });
  it('packs little-endian values at 4-byte steps, padded to 16 bytes', () => {
    expect(paramsByteSize(decl)).toBe(16);
    expect(paramsByteSize({ a: 'u32', b: 'u32', c: 'u32', d: 'u32', e: 'u32' })).toBe(32);
    const view = new DataView(new ArrayBuffer(16));
    packParams(decl, { rows: 7, offset: -3, eps: 1e-6 }, view);
    expect(view.getUint32(0, true)).toBe(7);
    expect(view.getInt32(4, true)).toBe(-3);
    expect(view.getFloat32(8, true)).toBeCloseTo(1e-6, 12);
  });
  it('rejects missing values and out-of-range integers', () => {
    const view = new DataView(new ArrayBuffer(16));
    expect(() => packParams(decl, { rows: 1, offset: 0 } as never, view)).toThrow(/'eps' is missing/);
    expect(() => packParams(decl, { rows: -1, offset: 0, eps: 0 }, view)).toThrow(/'rows' must be a u32/);
    expect(() => packParams(decl, { rows: 1.5, offset: 0, eps: 0 }, view)).toThrow(/'rows' must be a u32/);
  });
});
