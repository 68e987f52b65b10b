import type { WorkerErrorInfo } from '../../../workers/api';

/** Shown when the browser or the machine cannot give the studio a GPU. */
export function NoWebGpu({ error, onRetry }: { error: WorkerErrorInfo | null; onRetry: () => void }) {
  return (
    <section className="card no-webgpu" data-testid="no-webgpu" data-error-code={error?.code ?? ''}>
      <h2>WebGPU is not available</h2>
      <p>ShadowPEFT Studio trains models on your own GPU through WebGPU, and this browser did not give it one.</p>
      {error && (
        <p className="error">
          <code>{error.code}</code> {error.message}
        </p>
      )}
      <h3>What provides it</h3>
      <ul>
        <li>Chrome or Edge 113 or newer on Windows, macOS and ChromeOS; on Linux, Chrome with <code>chrome://flags/#enable-unsafe-webgpu</code> and Vulkan enabled.</li>
        <li>Safari 26 or newer (macOS, iOS, iPadOS).</li>
        <li>Firefox 141 or newer on Windows; on other systems set <code>dom.webgpu.enabled</code> in <code>about:config</code>.</li>
        <li>Hardware acceleration must be on in the browser settings, and the page must be served over https or from localhost.</li>
      </ul>
      <button onClick={onRetry}>Try again</button>
    </section>
  );
}
