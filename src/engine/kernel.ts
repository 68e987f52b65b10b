import type { ParamDecl } from './params';
import { paramsStruct } from './params';
import { renderWgsl } from './wgsl';

/**
 * A compiled-variant description of one WGSL entry point: everything needed to create (and cache)
 * its pipeline. `key` is readable (`matmul_main_f32_tb_v4`) and unique per variant.
 */
export interface KernelSpec<P extends ParamDecl = ParamDecl> {
  key: string;
  code: string;
  entryPoint: string;
  params: P;
  constants: Record<string, number>;
}

export interface VariantOptions {
  entryPoint: string;
  /** `{{NAME}}` substitutions (types, vector widths). */
  vars?: Record<string, string>;
  /** `#if NAME` switches. */
  flags?: Record<string, boolean>;
  /** WGSL `override` constants (workgroup size, tiles). */
  constants?: Record<string, number>;
}

/**
 * One WGSL source with one parameter declaration; variants differ in entry point, template values and
 * override constants. Variants are memoised, so asking for the same one twice is free.
 */
export class KernelSource<P extends ParamDecl> {
  private readonly variants = new Map<string, KernelSpec<P>>();
  constructor(
    readonly name: string,
    readonly source: string,
    readonly params: P,
  ) {}

  variant(opts: VariantOptions): KernelSpec<P> {
    const parts = [this.name, opts.entryPoint];
    // Template values enter the key compactly: 'array<vec4<f32>>' → 'vec4f32'.
    for (const [, v] of Object.entries(opts.vars ?? {}).sort()) parts.push(v.replace(/^array</, '').replace(/[^\w]/g, ''));
    for (const [k, v] of Object.entries(opts.flags ?? {}).sort()) if (v) parts.push(k.toLowerCase());
    for (const [k, v] of Object.entries(opts.constants ?? {}).sort()) parts.push(`${k}${v}`);
    const key = parts.join('_').replace(/[^\w]+/g, '');
    let spec = this.variants.get(key);
    if (!spec) {
      const code = renderWgsl(this.source, { PARAMS: paramsStruct(this.params), ...opts.vars }, opts.flags ?? {});
      spec = { key, code, entryPoint: opts.entryPoint, params: this.params, constants: opts.constants ?? {} };
      this.variants.set(key, spec);
    }
    return spec;
  }
}
