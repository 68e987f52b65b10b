import { useEffect, useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { ErrorNote } from '../components/ErrorNote';
import { ProgressBar } from '../components/ProgressBar';
import { formatBytes, formatEpoch, formatMetric } from '../lib/format';
import { selectAdapterActions, selectAdapters, selectLoadedModel, selectProgress } from '../store/selectors';
import { useStudio } from '../store/store';

const EMBEDDINGS_NOTE = { own: 'its own embeddings', frozen: 'its own embeddings, frozen', base: 'the base model’s embeddings' } as const;

/** Screen 7: the checkpoints in this browser, downloads as .zip, and importing an adapter. */
export function AdaptersScreen() {
  const a = useStudio(selectAdapters);
  const loadedModel = useStudio(selectLoadedModel);
  const progress = useStudio(selectProgress);
  const { refreshCheckpoints, deleteCheckpoint, downloadAdapterZip, downloadCheckpointZip, importAdapterFiles, startTraining, setScreen } = useStudio(useShallow(selectAdapterActions));
  const [dtype, setDtype] = useState<'F32' | 'BF16'>('F32');
  const active = progress.status === 'running' || progress.status === 'starting';
  useEffect(() => {
    void refreshCheckpoints();
  }, [refreshCheckpoints]);

  return (
    <section className="screen" data-testid="adapters-screen">
      <h2>7 · Adapters</h2>
      <div className="cols">
        <div className="card" data-testid="export" data-status={a.exportStatus}>
          <h3>Download the adapter</h3>
          <p>
            A .zip with <code>shadow_config.json</code> and <code>shadow_adapter.safetensors</code> (the <code>shadow-peft</code> format), a model card <code>README.md</code> and <code>loss_history.csv</code>.
          </p>
          <fieldset className="radio-row">
            <legend>Weights as</legend>
            <label>
              <input type="radio" name="dtype" checked={dtype === 'F32'} onChange={() => setDtype('F32')} /> float32
            </label>
            <label>
              <input type="radio" name="dtype" checked={dtype === 'BF16'} onChange={() => setDtype('BF16')} /> bfloat16 (half the size)
            </label>
          </fieldset>
          <div className="actions">
            <button type="button" onClick={() => void downloadAdapterZip(dtype)} disabled={a.exportStatus === 'exporting' || !loadedModel} data-testid="download-zip">
              {a.exportStatus === 'exporting' ? 'Preparing…' : 'Download .zip'}
            </button>
          </div>
          {!loadedModel && <p className="muted">Load a model (and train or import an adapter) first.</p>}
          {a.exportStatus === 'exporting' && <ProgressBar label="Reading the weights from the GPU and zipping…" value={null} max={null} />}
          {a.lastExport && a.exportStatus === 'done' && (
            <p className="ok" data-testid="last-export" data-file={a.lastExport.fileName}>
              ✓ Saved {a.lastExport.fileName} ({formatBytes(a.lastExport.bytes)}): {a.lastExport.files.join(', ')}.
            </p>
          )}
          <ErrorNote error={a.exportError} testId="export-error" />
        </div>

        <div className="card" data-testid="import" data-status={a.importStatus}>
          <h3>Import an adapter</h3>
          <p>
            Pick the .zip downloaded here, or <code>shadow_config.json</code> together with <code>shadow_adapter.safetensors</code> (for example saved by <code>save_pretrained</code> in Python). It is attached to the loaded model.
          </p>
          <label className="button secondary">
            Choose files…
            <input type="file" className="visually-hidden" multiple accept=".zip,.json,.safetensors,application/zip,application/json" onChange={(e) => void importAdapterFiles(Array.from(e.target.files ?? []))} data-testid="import-input" />
          </label>
          {a.importStatus === 'importing' && <ProgressBar label="Checking and uploading the adapter…" value={null} max={null} />}
          {a.imported && a.importStatus === 'done' && (
            <p className="ok" data-testid="import-done">
              ✓ Imported {a.imported.fileNames.join(', ')}:{' '}
              {a.imported.explicitShadow ? `the explicit shadow ${a.imported.explicitShadow.id} (${EMBEDDINGS_NOTE[a.imported.explicitShadow.embeddings]})` : `${a.imported.shadow.num_shadow_layers} shadow layer(s)`}, injection rank {a.imported.shadow.injection_hidden_size}
              {a.imported.baseModel ? `, trained on ${a.imported.baseModel}` : ''}.
              {a.imported.baseModel && loadedModel && a.imported.baseModel !== loadedModel.id ? ` Note: the loaded model is ${loadedModel.id}.` : ''}
            </p>
          )}
          <ErrorNote error={a.importError} testId="import-error" />
        </div>
      </div>

      <div className="card" data-testid="checkpoints" data-status={a.listStatus} data-count={a.checkpoints.length}>
        <div className="actions">
          <h3>Checkpoints in this browser</h3>
          <button type="button" className="secondary small" onClick={() => void refreshCheckpoints()}>
            Refresh
          </button>
        </div>
        <ErrorNote error={a.listError} />
        {a.checkpoints.length === 0 ? (
          <p className="muted">{a.listStatus === 'loading' ? 'Reading IndexedDB…' : 'None yet: training saves one every few steps (see Configure).'}</p>
        ) : (
          <div className="table-wrap">
            <table className="checkpoints">
              <thead>
                <tr>
                  <th scope="col">run</th>
                  <th scope="col">base model</th>
                  <th scope="col">step</th>
                  <th scope="col">epoch</th>
                  <th scope="col">loss</th>
                  <th scope="col">size</th>
                  <th scope="col">saved</th>
                  <th scope="col">actions</th>
                </tr>
              </thead>
              <tbody>
                {a.checkpoints.map((c) => (
                  <tr key={c.id} data-checkpoint={c.id} data-step={c.step} data-epoch={formatEpoch(c.epoch)}>
                    <td>
                      <code title={c.runId}>{c.runId.slice(0, 8)}</code>
                    </td>
                    <td>{c.baseModel}</td>
                    <td>{c.step}</td>
                    <td>{formatEpoch(c.epoch)}</td>
                    <td>{formatMetric(c.loss)}</td>
                    <td>{formatBytes(c.bytes)}</td>
                    <td>{new Date(c.createdAt).toLocaleString()}</td>
                    <td className="row-actions">
                      <button type="button" className="small" disabled={active || a.busyId !== null} onClick={() => {
                          setScreen('train');
                          void startTraining(c.id);
                        }}>
                        Resume
                      </button>
                      <button type="button" className="small secondary" disabled={a.busyId !== null} onClick={() => void downloadCheckpointZip(c, dtype)}>
                        Download
                      </button>
                      <button type="button" className="small danger" disabled={a.busyId !== null} onClick={() => void deleteCheckpoint(c.id)} aria-label={`Delete checkpoint at step ${c.step}`}>
                        Delete
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </div>
    </section>
  );
}
