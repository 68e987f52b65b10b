/**
 * Uniform parameters declared once per kernel in TypeScript, e.g. `{ rows: 'u32', eps: 'f32' }`.
 * From that one declaration come the WGSL `struct Params` and the byte packing, so no constant is
 * copied by hand between the two languages. Only 4-byte scalars are allowed, which keeps the WGSL
 * uniform layout a plain sequence (the struct is padded to 16 bytes as uniform buffers require).
 */
export type ParamType = 'u32' | 'i32' | 'f32';
export type ParamDecl = Readonly<Record<string, ParamType>>;
export type ParamValues<P extends ParamDecl> = { [K in keyof P]: number };

export function paramsStruct(decl: ParamDecl): string {
  const fields = Object.entries(decl).map(([name, type]) => `  ${name}: ${type},`);
  if (fields.length === 0) fields.push('  _unused: u32,');
  return `struct Params {\n${fields.join('\n')}\n}`;
}

/** Size in bytes of the packed struct (16-byte multiple). */
export function paramsByteSize(decl: ParamDecl): number {
  return Math.max(16, Math.ceil((Object.keys(decl).length * 4) / 16) * 16);
}

/** Writes the values into `view` at `byteOffset`, in declaration order. */
export function packParams<P extends ParamDecl>(decl: P, values: ParamValues<P>, view: DataView, byteOffset = 0): void {
  let o = byteOffset;
  for (const [name, type] of Object.entries(decl)) {
    const v = values[name as keyof P];
    if (typeof v !== 'number' || Number.isNaN(v)) throw new Error(`kernel parameter '${name}' is missing or not a number (${String(v)})`);
    if (type === 'f32') view.setFloat32(o, v, true);
    else if (type === 'u32') {
      if (v < 0 || !Number.isInteger(v) || v > 0xffffffff) throw new Error(`kernel parameter '${name}' must be a u32, got ${v}`);
      view.setUint32(o, v, true);
    } else {
      if (!Number.isInteger(v)) throw new Error(`kernel parameter '${name}' must be an i32, got ${v}`);
      view.setInt32(o, v, true);
    }
    o += 4;
  }
}
