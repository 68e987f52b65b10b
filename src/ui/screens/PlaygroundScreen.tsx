import type { FormEvent } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { GenerationMode } from '../../../workers/api';
import { ErrorNote } from '../components/ErrorNote';
import { NumberField } from '../components/NumberField';
import { formatMetric } from '../lib/format';
import { GENERATION_MODES } from '../store/inspectSlice';
import { selectPlayground, selectPlaygroundActions } from '../store/selectors';
import { useStudio } from '../store/store';

const MODE_TEXT: Record<GenerationMode, { title: string; help: string }> = {
  base: { title: 'Base model', help: 'the frozen model, adapter off' },
  base_shadow: { title: 'Base + shadow', help: 'the adapted model, as it will be used' },
  shadow_only: { title: 'Shadow alone', help: 'the detached shadow network, no base layers' },
};

/** Screen 6: one prompt, three ways of answering it, side by side. */
export function PlaygroundScreen() {
  const pg = useStudio(selectPlayground);
  const { setPlayground, runPlayground, cancelPlayground } = useStudio(useShallow(selectPlaygroundActions));
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void runPlayground();
  };
  return (
    <section className="screen" data-testid="playground-screen" data-running={String(pg.running)}>
      <h2>6 · Playground</h2>
      <form className="card" onSubmit={onSubmit}>
        <div className="field">
          <label htmlFor="pg-prompt">Prompt</label>
          <textarea id="pg-prompt" rows={3} value={pg.prompt} onChange={(e) => setPlayground({ prompt: e.target.value })} />
        </div>
        <div className="form-grid">
          <NumberField name="maxNewTokens" label="Max new tokens" value={pg.maxNewTokens} integer min={1} max={2048} onChange={(v) => v !== null && setPlayground({ maxNewTokens: v })} />
          <NumberField name="temperature" label="Temperature" value={pg.temperature} min={0} max={2} step={0.1} onChange={(v) => v !== null && setPlayground({ temperature: v })} help="0 = always the likeliest token" />
          <label className="check">
            <input type="checkbox" checked={pg.chat} onChange={(e) => setPlayground({ chat: e.target.checked })} /> use the chat template
          </label>
        </div>
        <div className="actions">
          <button type="submit" disabled={pg.running || !pg.prompt.trim()} data-testid="playground-run">
            {pg.running ? 'Generating…' : 'Generate all three'}
          </button>
          {pg.running && (
            <button type="button" className="secondary" onClick={() => void cancelPlayground()}>
              Cancel
            </button>
          )}
        </div>
      </form>
      <div className="columns3">
        {GENERATION_MODES.map((mode) => {
          const c = pg.columns[mode];
          return (
            <article key={mode} className="card gen-column" data-testid="generation" data-mode={mode} data-status={c.status} data-tokens={c.tokenCount} data-tokens-per-second={c.tokensPerSecond ?? ''}>
              <h3>{MODE_TEXT[mode].title}</h3>
              <p className="muted">{MODE_TEXT[mode].help}</p>
              <p className="gen-text" aria-live="polite">
                {c.text}
                {c.status === 'running' && <span className="cursor">▍</span>}
                {c.status === 'waiting' && <span className="muted">waiting for its turn…</span>}
              </p>
              <p className="muted gen-meta">
                {c.tokenCount > 0 && `${c.tokenCount} tokens · `}
                {c.tokensPerSecond !== null ? `${formatMetric(c.tokensPerSecond, 3)} tokens/s` : ''}
                {c.stoppedBy && ` · stopped by ${c.stoppedBy}`}
                {c.status === 'cancelled' && ' · cancelled'}
              </p>
              <ErrorNote error={c.error} />
            </article>
          );
        })}
      </div>
    </section>
  );
}
