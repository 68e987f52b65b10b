import type { DragEvent, FormEvent } from 'react';
import { useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { LoadedModel, ModelInfo } from '../../../workers/api';
import { ErrorNote } from '../components/ErrorNote';
import { ProgressBar } from '../components/ProgressBar';
import { formatBytes, formatCount } from '../lib/format';
import { filesFromDirectoryInput, filesFromDrop, isModelFile } from '../lib/localFolder';
import type { ModelChoice } from '../lib/modelSource';
import { CURATED_MODELS, hubChoice, parseModelInput } from '../lib/modelSource';
import { bundledChoice } from '../store/modelSlice';
import { selectDevice, selectModel, selectModelActions, selectModelView } from '../store/selectors';
import { useStudio } from '../store/store';

const PHASE_NAMES = { download: 'Downloading', upload: 'Uploading to the GPU', warmup: 'Compiling shaders' } as const;

function ChoiceButton({ choice, note, current, onPick, disabled }: { choice: ModelChoice; note: string; current: string | null; onPick: (c: ModelChoice) => void; disabled: boolean }) {
  return (
    <li>
      <button type="button" className="choice" aria-pressed={current === choice.key} data-model-key={choice.key} onClick={() => onPick(choice)} disabled={disabled}>
        <span className="choice-title">{choice.label}</span>
        {note && <span className="muted">{note}</span>}
      </button>
    </li>
  );
}

/** The checkpoint's size: as the source gave it, else as read by the load; the weights' GPU size once loaded. */
function downloadText(info: ModelInfo, loaded: LoadedModel | null): string {
  const size = info.downloadBytes ?? loaded?.downloadBytes ?? null;
  if (size !== null) return formatBytes(size);
  if (loaded) return `not reported by the source; the weights take ${formatBytes(loaded.weightBytes)} on the GPU`;
  return 'size unknown until downloaded';
}

function ModelFacts({ info, loaded }: { info: ModelInfo; loaded: LoadedModel | null }) {
  const caps = useStudio(selectDevice).caps;
  const m = info.memory;
  return (
    <>
      <dl className="facts">
        <dt>Architecture</dt>
        <dd data-testid="model-arch">
          {info.modelType}: {info.layers} layers, hidden {info.hidden}, {info.heads} heads ({info.kvHeads} key/value), head size {info.headDim}, MLP {info.intermediate}, vocabulary {formatCount(info.vocab)}
          {info.tiedEmbeddings ? ', tied embeddings' : ''}
        </dd>
        <dt>Parameters</dt>
        <dd data-testid="model-params" data-value={info.parameters}>
          {formatCount(info.parameters)}
        </dd>
        <dt>Weights dtype</dt>
        <dd>{info.torchDtype}</dd>
        <dt>Download</dt>
        <dd data-testid="model-download" data-bytes={info.downloadBytes ?? loaded?.downloadBytes ?? ''}>
          {downloadText(info, loaded)}
        </dd>
        <dt>GPU memory</dt>
        <dd data-testid="model-memory" data-fits={String(m.fits)}>
          weights {formatBytes(m.weights)}, inference {formatBytes(m.inference)} (512 tokens), training {formatBytes(m.training)} (default batch)
        </dd>
        {caps && (
          <>
            <dt>This device</dt>
            <dd>
              {caps.adapter.description || caps.adapter.vendor || 'GPU'}: largest buffer {formatBytes(caps.limits.maxBufferSize)}, largest storage binding {formatBytes(caps.limits.maxStorageBufferBindingSize)}
              {caps.isSoftware ? ' — a software renderer: fine for tiny models, far too slow to train real ones' : ''}
            </dd>
          </>
        )}
      </dl>
      <p className={m.fits ? 'ok' : 'error'}>{m.fits ? '✓ Fits this device.' : '✗ Probably too large for this device.'} {m.message}</p>
    </>
  );
}

/** Screen 1: pick a model (bundled, curated Hub, any repo/URL, local folder), see its facts, load it. */
export function ModelScreen() {
  const model = useStudio(selectModel);
  const { chooseModel, loadChosenModel, cancelModelLoad } = useStudio(useShallow(selectModelActions));
  const [typed, setTyped] = useState('');
  const [typedError, setTypedError] = useState<string | null>(null);
  const [dragging, setDragging] = useState(false);
  const current = model.choice?.key ?? null;
  const pick = (c: ModelChoice) => void chooseModel(c);

  const onTyped = (e: FormEvent) => {
    e.preventDefault();
    const r = parseModelInput(typed, location.origin);
    if ('error' in r) setTypedError(r.error);
    else {
      setTypedError(null);
      pick(r);
    }
  };
  const onFolder = (files: FileList | null) => {
    if (!files || files.length === 0) return;
    const src = filesFromDirectoryInput(files);
    src.files = src.files.filter((f) => isModelFile(f.path));
    pick({ key: `files:${src.name}:${src.files.length}`, label: `${src.name} (local folder)`, source: src });
  };
  const onDrop = async (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    const src = await filesFromDrop(e.dataTransfer.items);
    if (src) pick({ key: `files:${src.name}:${src.files.length}`, label: `${src.name} (local folder)`, source: src });
  };

  const view = useStudio(useShallow(selectModelView));
  const p = view.progress;
  const held = view.held;
  return (
    <section className="screen" data-testid="model-screen">
      <h2>1 · Model</h2>
      <p className="lead">Pick the base model to adapt. It stays frozen; only the small shadow network is trained.</p>
      <div className="cols">
        <div className="card">
          <h3>Bundled with the studio</h3>
          {model.bundledStatus === 'ready' ? (
            <ul className="choices" data-testid="bundled-models">
              {model.bundled.map((m) => (
                <ChoiceButton key={m.name} choice={bundledChoice(m)} note={m.description || 'runs offline, served by this site'} current={current} onPick={pick} disabled={view.loading} />
              ))}
            </ul>
          ) : (
            <p className="muted" data-testid="no-bundled-model">
              {model.bundledStatus === 'loading' || model.bundledStatus === 'idle'
                ? 'Looking for bundled models…'
                : 'No model is bundled with this build (there is no /models/index.json), so nothing is preselected: choose a Hub model below or open a folder.'}
            </p>
          )}
          <h3>From the Hugging Face Hub</h3>
          <ul className="choices">
            {CURATED_MODELS.map((m) => (
              <ChoiceButton key={m.repo} choice={hubChoice(m.repo)} note={m.note} current={current} onPick={pick} disabled={view.loading} />
            ))}
          </ul>
          <form className="inline-form" onSubmit={onTyped}>
            <label htmlFor="model-any">Any repo id or URL</label>
            <div className="row">
              <input id="model-any" type="text" placeholder="owner/name or https://…/model/" value={typed} onChange={(e) => setTyped(e.target.value)} spellCheck={false} />
              <button type="submit" disabled={view.loading}>
                Look up
              </button>
            </div>
            {typedError && (
              <p className="error" role="alert">
                {typedError}
              </p>
            )}
          </form>
          <h3>From this computer</h3>
          <div
            className={`dropzone${dragging ? ' dragging' : ''}`}
            onDragOver={(e) => {
              e.preventDefault();
              setDragging(true);
            }}
            onDragLeave={() => setDragging(false)}
            onDrop={(e) => void onDrop(e)}
          >
            <p>Drop a model folder here (config.json, tokenizer.json, *.safetensors), or</p>
            <label className="button secondary">
              Open a folder…
              <input
                type="file"
                className="visually-hidden"
                multiple
                ref={(el) => {
                  if (el) el.setAttribute('webkitdirectory', '');
                }}
                onChange={(e) => onFolder(e.target.files)}
              />
            </label>
          </div>
        </div>

        <div className="card" data-testid="model-info" data-status={view.lookingUp ? 'inspecting' : model.info ? 'ready' : view.errorStage === 'lookup' ? 'error' : 'idle'} data-model-key={current ?? ''}>
          <h3>{model.choice ? model.choice.label : 'No model selected'}</h3>
          {view.lookingUp && <ProgressBar label="Reading config.json and file sizes…" value={null} max={null} />}
          {model.info && <ModelFacts info={model.info} loaded={view.loadedHere ? held!.model : null} />}
          <div className="actions" data-testid="model-load" data-status={view.loadStatus}>
            <button type="button" onClick={() => void loadChosenModel()} disabled={!model.choice || view.loading}>
              {view.loading ? 'Loading…' : view.loadedHere ? 'Reload' : 'Load model'}
            </button>
            {view.loading && (
              <button type="button" className="secondary" onClick={() => void cancelModelLoad()} data-testid="model-load-cancel">
                Cancel
              </button>
            )}
            {view.loading && (
              <ProgressBar
                testId="load-progress"
                label={p ? `${PHASE_NAMES[p.phase]} ${p.file}${p.total ? ` (${formatBytes(p.loaded)} of ${formatBytes(p.total)})` : p.loaded ? ` (${formatBytes(p.loaded)})` : ''}` : 'Starting…'}
                value={p ? p.loaded : null}
                max={p ? p.total : null}
              />
            )}
          </div>
          {/* one error: the last lookup's or load's, and what it did to the loaded model */}
          <ErrorNote error={view.error} testId="model-load-error" />
          {view.error && !held && (
            <p className="muted" data-testid="model-after-error">
              No model is loaded now{view.errorStage === 'load' ? ' (a model loaded before is freed once the new one’s weights start loading)' : ''}: press Load model to try again, or choose another.
            </p>
          )}
          {held && (
            <p className="ok" data-testid="model-loaded" data-model-id={held.model.id} data-here={String(view.loadedHere)}>
              ✓ {held.label} is loaded: {formatBytes(held.model.weightBytes)} of weights on the GPU as {held.model.storage}.
              {!view.loadedHere && (view.error ? ' It stays loaded and usable.' : ' (The selection above is a different model; press Load to switch.)')}
            </p>
          )}
          {view.loading && <p className="muted">Choosing another model waits until this load ends (or is cancelled).</p>}
        </div>
      </div>
    </section>
  );
}
