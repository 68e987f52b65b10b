import { useShallow } from 'zustand/react/shallow';
import type { DatasetSummary } from '../../../workers/api';
import { FORMAT_NAMES } from '../../train/data/formats';
import { ErrorNote } from '../components/ErrorNote';
import { LengthHistogram } from '../components/LengthHistogram';
import { NumberField } from '../components/NumberField';
import { ProgressBar } from '../components/ProgressBar';
import { formatCount } from '../lib/format';
import { selectData, selectDataActions, selectSetScreen } from '../store/selectors';
import { useStudio } from '../store/store';

const PASTE_KINDS = [
  { ext: 'jsonl', label: 'JSON lines' },
  { ext: 'csv', label: 'CSV' },
  { ext: 'tsv', label: 'TSV' },
  { ext: 'txt', label: 'plain text' },
] as const;

/** A guess at what pasted text is, from its first line. */
export function guessPasteExtension(text: string): string {
  const first = text.trimStart().split('\n', 1)[0] ?? '';
  if (first.startsWith('{') || first.startsWith('[')) return 'jsonl';
  if (first.includes('\t')) return 'tsv';
  if (/^[\w" ]+(,[\w" ]+)+$/.test(first.trim())) return 'csv';
  return 'txt';
}

const MAX_EDITABLE = 300_000;

function Summary({ s, maxLength }: { s: DatasetSummary; maxLength: number }) {
  const more = s.issueCount - s.issues.length;
  return (
    <>
      <dl className="facts">
        <dt>Detected format</dt>
        <dd data-testid="data-format" data-format={s.format}>
          {FORMAT_NAMES[s.format] ?? s.format}
        </dd>
        <dt>Examples</dt>
        <dd>
          {s.records} records → <strong data-testid="train-examples">{s.trainExamples}</strong> for training, {s.validationExamples} for validation
        </dd>
        <dt>Tokens</dt>
        <dd>
          {formatCount(s.stats.tokenCount)} in all, {formatCount(s.stats.supervisedTokenCount)} supervised; length {s.stats.minLength}–{s.stats.maxLength}, mean {s.stats.meanLength.toFixed(1)}
          {s.stats.droppedCount > 0 && `; ${s.stats.droppedCount} dropped (nothing left to learn after cutting)`}
        </dd>
      </dl>
      <LengthHistogram bins={s.stats.histogram} maxLength={maxLength} truncated={s.stats.truncatedCount} />
      {s.issueCount > 0 && (
        <div className="issues" data-testid="data-issues" data-count={s.issueCount}>
          <h4>
            {s.issueCount} record{s.issueCount === 1 ? '' : 's'} skipped
          </h4>
          <p className="muted">Malformed records, and examples with nothing left to learn after cutting at the max length (raise it to keep them).</p>
          <ol>
            {s.issues.slice(0, 50).map((i, k) => (
              <li key={k} data-line={i.line}>
                {i.line > 0 ? <strong>line {i.line}:</strong> : <strong>file:</strong>} {i.reason}
              </li>
            ))}
          </ol>
          {more + Math.max(0, s.issues.length - 50) > 0 && <p className="muted">…and {more + Math.max(0, s.issues.length - 50)} more.</p>}
        </div>
      )}
      <h4>What the model sees</h4>
      <p className="muted">
        <mark className="sup">Highlighted</mark> text is supervised (the loss is taken there); the rest is context only.
      </p>
      <div className="table-wrap">
        <table className="preview" data-testid="data-preview">
          <thead>
            <tr>
              <th scope="col">line</th>
              <th scope="col">tokens</th>
              <th scope="col">example</th>
            </tr>
          </thead>
          <tbody>
            {s.preview.map((p, i) => (
              <tr key={i} data-line={p.line}>
                <td>
                  {p.line}
                  {p.block !== undefined ? ` #${p.block}` : ''}
                </td>
                <td>
                  {p.tokenCount}
                  <br />
                  <span className="muted">{p.supervisedCount} sup.</span>
                </td>
                <td className="segments">
                  {p.segments.map((seg, k) =>
                    seg.supervised ? (
                      <mark key={k} className="sup" data-supervised="true" title={`${seg.tokenCount} supervised tokens`}>
                        {seg.text}
                      </mark>
                    ) : (
                      <span key={k} className="masked" data-supervised="false" title={`${seg.tokenCount} context tokens`}>
                        {seg.text}
                      </span>
                    ),
                  )}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </>
  );
}

/** Screen 2: bring data (demo, upload, paste), choose how to prepare it, and see what the model will learn. */
export function DataScreen() {
  const data = useStudio(selectData);
  const { setDataText, setDataOptions, chooseDemo, prepareData } = useStudio(useShallow(selectDataActions));
  const setScreen = useStudio(selectSetScreen);
  const busy = data.status === 'preparing' || data.status === 'fetching';
  const stale = data.summary !== null && data.preparedRevision !== data.revision;
  const o = data.options;
  const pasteExt = data.fileName.split('.').pop() ?? 'jsonl';

  const onUpload = async (files: FileList | null) => {
    const f = files?.[0];
    if (!f) return;
    setDataText(await f.text(), f.name, 'upload');
    await prepareData();
  };

  return (
    <section className="screen" data-testid="data-screen">
      <h2>2 · Data</h2>
      <p className="lead">Examples to learn from: chat messages, prompt/completion pairs, Alpaca records, text/label rows (JSONL or CSV), or plain text.</p>
      <div className="cols">
        <div className="card">
          <h3>Demo datasets</h3>
          {data.demosStatus === 'ready' ? (
            <ul className="choices" data-testid="demo-datasets">
              {data.demos.map((d) => (
                <li key={d.file}>
                  <button type="button" className="choice" aria-pressed={data.demoFile === d.file} data-demo={d.file} data-format={d.format} onClick={() => void chooseDemo(d)} disabled={busy}>
                    <span className="choice-title">{d.title}</span>
                    <span className="muted">
                      {d.description} <code>{d.format}</code>
                    </span>
                  </button>
                </li>
              ))}
            </ul>
          ) : (
            <p className="muted">{data.demosStatus === 'loading' || data.demosStatus === 'idle' ? 'Looking for demo datasets…' : 'No demo datasets are bundled with this build: upload or paste your own.'}</p>
          )}
          <h3>Your data</h3>
          <label className="button secondary">
            Upload a file…
            <input type="file" className="visually-hidden" accept=".jsonl,.json,.csv,.tsv,.txt,text/plain,application/json" onChange={(e) => void onUpload(e.target.files)} />
          </label>
          <div className="field">
            <label htmlFor="data-text">
              {data.origin === 'paste' || data.origin === 'none' ? 'Or paste it here' : `Contents of ${data.fileName}`}
            </label>
            {data.text.length <= MAX_EDITABLE ? (
              <textarea
                id="data-text"
                rows={8}
                spellCheck={false}
                value={data.text}
                placeholder={'{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}'}
                onChange={(e) => setDataText(e.target.value, data.origin === 'paste' ? data.fileName : `pasted.${guessPasteExtension(e.target.value)}`, 'paste')}
              />
            ) : (
              <p className="muted" id="data-text">
                {data.fileName}: {formatCount(data.text.length)} characters (too large to edit here).
              </p>
            )}
          </div>
          {data.origin === 'paste' && (
            <div className="field">
              <label htmlFor="paste-kind">Pasted text is</label>
              <select id="paste-kind" value={pasteExt} onChange={(e) => setDataText(data.text, `pasted.${e.target.value}`, 'paste')}>
                {PASTE_KINDS.map((k) => (
                  <option key={k.ext} value={k.ext}>
                    {k.label}
                  </option>
                ))}
              </select>
            </div>
          )}
          <h3>Preparation</h3>
          <div className="form-grid">
            <NumberField name="maxLength" label="Max length (tokens)" value={o.maxLength} integer min={8} max={32768} onChange={(v) => v !== null && setDataOptions({ maxLength: v })} help="longer examples are cut" />
            <NumberField name="validationFraction" label="Validation fraction" value={o.validationFraction} min={0} max={0.5} step={0.05} onChange={(v) => v !== null && setDataOptions({ validationFraction: v })} help="held out to measure progress" />
            <NumberField name="splitSeed" label="Split seed" value={o.seed} integer min={0} onChange={(v) => v !== null && setDataOptions({ seed: v })} />
          </div>
          <fieldset className="radio-row">
            <legend>Malformed records</legend>
            <label>
              <input type="radio" name="on-error" checked={o.onError === 'skip'} onChange={() => setDataOptions({ onError: 'skip' })} /> skip them and list them
            </label>
            <label>
              <input type="radio" name="on-error" checked={o.onError === 'stop'} onChange={() => setDataOptions({ onError: 'stop' })} /> stop at the first one
            </label>
          </fieldset>
          <div className="actions">
            <button type="button" onClick={() => void prepareData()} disabled={busy || !data.text.trim()}>
              {busy ? 'Preparing…' : 'Prepare data'}
            </button>
          </div>
        </div>

        <div className="card" data-testid="data-summary" data-status={data.status} data-stale={String(stale)} data-format={data.summary?.format ?? ''} data-examples={data.summary?.trainExamples ?? 0}>
          <h3>{data.summary ? data.summary.fileName : 'Nothing prepared yet'}</h3>
          {busy && <ProgressBar label={data.status === 'fetching' ? 'Fetching the demo dataset…' : 'Parsing and tokenizing…'} value={null} max={null} />}
          {data.status === 'waiting-model' && (
            <p className="notice">
              The data is tokenized with the model’s tokenizer, so a model must be loaded first.{' '}
              <button type="button" className="link" onClick={() => setScreen('model')}>
                Go to Model
              </button>
            </p>
          )}
          {stale && <p className="notice">The text or the options changed since this summary was made: press “Prepare data” to update it.</p>}
          <ErrorNote error={data.error} testId="data-error" />
          {data.summary && <Summary s={data.summary} maxLength={o.maxLength} />}
        </div>
      </div>
    </section>
  );
}
