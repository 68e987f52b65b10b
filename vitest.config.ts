import { existsSync } from 'node:fs';
import { defineConfig } from 'vitest/config';

// Node unit tests run real WebGPU: Dawn (the `webgpu` package) on Mesa lavapipe, which has
// shader-f16. STUDIO_VK_DRIVER=swiftshader runs them on Chromium's SwiftShader instead (no f16).
const icd =
  process.env.STUDIO_VK_DRIVER === 'swiftshader'
    ? '/usr/lib/chromium/vk_swiftshader_icd.json'
    : ['/usr/share/vulkan/icd.d/lvp_icd.json', '/usr/share/vulkan/icd.d/lvp_icd.x86_64.json'].find((p) => existsSync(p));

export default defineConfig({
  test: {
    include: ['src/**/*.test.ts', 'workers/**/*.test.ts', 'tools/**/*.test.ts'],
    environment: 'node',
    pool: 'forks',
    testTimeout: 120_000,
    hookTimeout: 120_000,
    env: icd && !process.env.VK_ICD_FILENAMES ? { VK_ICD_FILENAMES: icd } : {},
  },
});
