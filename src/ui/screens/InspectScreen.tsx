import type { FormEvent } from 'react';
import { useShallow } from 'zustand/react/shallow';
import { ErrorNote } from '../components/ErrorNote';
import { Heatmap } from '../components/Heatmap';
import { ProgressBar } from '../components/ProgressBar';
import { saveBlob } from '../lib/download';
import { formatMetric } from '../lib/format';
import { LAYER_STATS, layerStatesCsv, slotExplanation, slotLabel, tokenLabel } from '../lib/layerStats';
import { selectInspect, selectInspectActions } from '../store/selectors';
import { useStudio } from '../store/store';

/** Screen 5: what the shadow does inside the network, layer by layer and token by token. */
export function InspectScreen() {
  const ins = useStudio(selectInspect);
  const { setInspectPrompt, runInspect, selectCell, showSnapshot } = useStudio(useShallow(selectInspectActions));
  const st = ins.states;
  const sel = st && ins.selected && ins.selected.layer < st.layers && ins.selected.token < st.tokens.length ? ins.selected : null;
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void runInspect();
  };
  const exportCsv = () => st && saveBlob(new Blob([layerStatesCsv(st)], { type: 'text/csv' }), 'layer-states.csv');

  return (
    <section className="screen" data-testid="inspect-screen" data-status={ins.status} data-heatmaps={st ? LAYER_STATS.length : 0}>
      <h2>5 · Inspect</h2>
      <p className="lead">Type a prompt to see, for every layer and token, how the shadow state relates to the base model’s hidden state and how strongly it steers it.</p>
      <form className="card" onSubmit={onSubmit}>
        <div className="field">
          <label htmlFor="inspect-prompt">Prompt</label>
          <textarea id="inspect-prompt" rows={2} value={ins.prompt} onChange={(e) => setInspectPrompt(e.target.value)} />
        </div>
        <div className="actions">
          <button type="submit" disabled={ins.status === 'running'} data-testid="inspect-run">
            {ins.status === 'running' ? 'Computing…' : 'Inspect'}
          </button>
          {st && (
            <button type="button" className="secondary" onClick={exportCsv}>
              Export CSV
            </button>
          )}
          {st && <span className="muted">{ins.atStep !== null ? `adapter at training step ${ins.atStep}` : 'adapter as initialised (not trained yet)'}</span>}
        </div>
        {ins.status === 'running' && <ProgressBar label="Running the prompt through the model on the GPU…" value={null} max={null} />}
        <ErrorNote error={ins.error} testId="inspect-error" />
      </form>
      {st && (
        <>
          <div className="card selection" data-testid="inspect-selection" data-layer={sel?.layer ?? ''} data-token={sel?.token ?? ''}>
            {sel ? (
              <>
                <h3>
                  {slotLabel(sel.layer)}, token {sel.token} “{tokenLabel(st.tokens[sel.token] ?? '', 24)}”
                </h3>
                <dl className="facts compact">
                  {LAYER_STATS.map((k) => (
                    <div key={k.key} className="fact-pair">
                      <dt>{k.title}</dt>
                      <dd>{formatMetric(st.stats[k.key][sel.layer * st.tokens.length + sel.token], 4)}</dd>
                    </div>
                  ))}
                </dl>
                <LensTable lens={ins.lens} />
              </>
            ) : (
              <p className="muted">Click a cell (or focus a heatmap and use the arrow keys) to select an adapter slot and a token.</p>
            )}
          </div>
          <p className="muted" data-testid="inspect-rows" data-rows={st.layers}>
            {slotExplanation(st.layers)}
          </p>
          <div className="heatmaps">
            {LAYER_STATS.map((k) => (
              <div className="card" key={k.key}>
                <Heatmap stat={k.key} title={k.title} help={k.help} diverging={k.diverging} values={st.stats[k.key]} layers={st.layers} tokens={st.tokens} selected={sel} onSelect={selectCell} />
              </div>
            ))}
          </div>
        </>
      )}
      <OverTraining snapshots={ins.snapshots} index={ins.snapshotIndex} onShow={showSnapshot} />
    </section>
  );
}

type Snapshots = ReturnType<typeof selectInspect>['snapshots'];

/** The probe prompt's statistics at each evaluation of the run, with a slider over steps. */
function OverTraining({ snapshots, index, onShow }: { snapshots: Snapshots; index: number | null; onShow: (i: number) => void }) {
  if (snapshots.length === 0) {
    return (
      <div className="card" data-testid="over-training" data-count={0}>
        <h3>Over training</h3>
        <p className="muted">After each evaluation of a run, the statistics of a fixed probe prompt (the first validation example's prompt) appear here.</p>
      </div>
    );
  }
  const i = Math.min(index ?? snapshots.length - 1, snapshots.length - 1);
  const snap = snapshots[i]!;
  return (
    <div className="card" data-testid="over-training" data-count={snapshots.length} data-step={snap.step}>
      <h3>Over training</h3>
      <label className="field">
        <span>
          step {snap.step} ({i + 1} of {snapshots.length}) — probe: “{tokenLabel(snap.prompt, 60)}”
        </span>
        <input type="range" min={0} max={snapshots.length - 1} value={i} onChange={(e) => onShow(Number(e.target.value))} aria-label="evaluation step" />
      </label>
      <div className="heatmaps">
        {LAYER_STATS.map((k) => (
          <div className="card" key={k.key}>
            <Heatmap stat={k.key} title={k.title} help={k.help} diverging={k.diverging} values={snap.states.stats[k.key]} layers={snap.states.layers} tokens={snap.states.tokens} selected={null} onSelect={() => undefined} />
          </div>
        ))}
      </div>
    </div>
  );
}

type Lens = ReturnType<typeof selectInspect>['lens'];

/** Top next tokens at every slot for the selected token: base stream with the adapter off and on, and the shadow state. */
function LensTable({ lens }: { lens: Lens }) {
  if (!lens) return null;
  if (lens.status === 'running') return <p className="muted" data-testid="logit-lens" data-status="running">Reading every layer out through the head…</p>;
  if (lens.status === 'error' || !lens.view) return <p className="error" data-testid="logit-lens" data-status="error">The logit lens could not be computed for this token; run Inspect again.</p>;
  const cell = (list: { text: string; prob: number }[]) => list.map((c, i) => <span key={i} className="lens-choice">{`${JSON.stringify(c.text)} ${(100 * c.prob).toFixed(1)}%`}</span>);
  return (
    <div className="lens" data-testid="logit-lens" data-status="ready" data-layers={lens.view.layers.length}>
      <h4>Logit lens: the likeliest next tokens if the network ended at each layer</h4>
      <table>
        <thead>
          <tr>
            <th>slot (before layer)</th>
            <th>base, adapter off</th>
            <th>base, adapter on</th>
            <th>shadow state</th>
          </tr>
        </thead>
        <tbody>
          {lens.view.layers.map((l, i) => (
            <tr key={i}>
              <th>
                {i} ({i + 1})
              </th>
              <td>{cell(l.baseOff)}</td>
              <td>{cell(l.baseOn)}</td>
              <td>{cell(l.shadow)}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
