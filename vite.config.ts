import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

export default defineConfig({
  plugins: [react()],
  // No single-page fallback: a missing model file must be a 404 (the loader probes for
  // model.safetensors.index.json), not index.html served with status 200.
  appType: 'mpa',
  worker: { format: 'es' },
  build: { target: 'es2022', sourcemap: true },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
});
