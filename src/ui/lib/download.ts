/** Hands bytes to the browser as a download (an object URL on a temporary link). */
export function saveBlob(blob: Blob, fileName: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  // give the browser time to start reading the blob before it is released
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** A file name from a model id or label: "HuggingFaceTB/SmolLM2-135M" → "SmolLM2-135M". */
export function fileSafe(name: string): string {
  const last = name.replace(/\/+$/, '').split('/').pop() || 'model';
  return last.replace(/[^\w.-]+/g, '_').slice(0, 80);
}
