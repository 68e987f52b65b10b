import { useShallow } from 'zustand/react/shallow';
import type { DatasetSummary } from '../../../workers/api';
import type { FileType } from '../../train/data/detect';
import { FORMAT_NAMES } from '../../train/data/formats';
import { describeLines, describeRest, formatInt, groupIssues } from '../../train/data/issueGroups';
import { ErrorNote } from '../components/ErrorNote';
import { LengthHistogram } from '../components/LengthHistogram';
import { NumberField } from '../components/NumberField';
import { ProgressBar } from '../components/ProgressBar';
import { formatCount } from '../lib/format';
import { detectPastedType } from '../store/dataSlice';
import { selectData, selectDataActions, selectDataView, selectSetScreen } from '../store/selectors';
import { useStudio } from '../store/store';

const PASTE_KINDS: readonly { ext: FileType; label: string }[] = [
  { ext: 'jsonl', label: 'JSON lines' },
  { ext: 'csv', label: 'CSV' },
  { ext: 'tsv', label: 'TSV' },
  { ext: 'txt', label: 'plain text' },
];
const KIND_LABEL = Object.fromEntries(PASTE_KINDS.map((k) => [k.ext, k.label])) as Record<FileType, string>;

/** Groups of skipped records shown on the screen; the rest is one sentence. */
const SHOWN_GROUPS = 8;

/** A link to the list of accepted formats below (opens it). */
function FormatsLink() {
  const open = () => {
    const el = document.getElementById('data-formats');
    if (el instanceof HTMLDetailsElement) el.open = true;
  };
  return (
    <a href="#data-formats" onClick={open} data-testid="formats-link">
      the formats the studio accepts
    </a>
  );
}

/** What the parser reads (the README's “Data formats” section says the same, with the same examples). */
function DataFormats() {
  const rows: [string, string][] = [
    ['chat messages (JSONL)', '{"messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!"}]}'],
    ['prompt/completion (JSONL)', '{"prompt": "2 + 2 =", "completion": " 4"}'],
    ['Alpaca (JSONL)', '{"instruction": "Translate", "input": "thou art", "output": "you are"}'],
    ['text (JSONL)', '{"text": "Any passage to learn to continue."}'],
    ['text/label, classification (JSONL)', '{"text": "great film", "label": "positive"}'],
    ['CSV or TSV', 'a header row naming the columns prompt, completion / instruction, input, output / text / text, label'],
    ['plain text (.txt)', 'one stream of text, cut into blocks of the max length'],
  ];
  return (
    <details className="formats" id="data-formats" data-testid="data-formats">
      <summary>Formats the studio accepts</summary>
      <p className="muted">
        One record per line; the first valid record decides the format, and other keys are ignored. Conversations in other shapes (for example ShareGPT’s <code>conversations</code> with <code>from</code>/<code>value</code>) need converting to <code>messages</code> with <code>role</code>/<code>content</code>. The README’s “Data formats” section says the same.
      </p>
      <ul className="formats-list">
        {rows.map(([name, example]) => (
          <li key={name}>
            <span>{name}</span>
            <code>{example}</code>
          </li>
        ))}
      </ul>
    </details>
  );
}

/** Skipped records grouped by reason with their lines ("40 lines: … — lines 1–40"), capped. */
function SkippedRecords({ s }: { s: DatasetSummary }) {
  const grouped = groupIssues(s.issues, s.issueCount);
  const rest = describeRest(grouped, SHOWN_GROUPS);
  return (
    <div className="issues" data-testid="data-issues" data-count={s.issueCount} data-groups={grouped.groups.length}>
      <h4>
        {formatInt(s.issueCount)} record{s.issueCount === 1 ? '' : 's'} skipped
      </h4>
      <p className="muted">
        Malformed records, and examples with nothing left to learn after cutting at the max length (raise it to keep them). See <FormatsLink />.
      </p>
      <ul>
        {grouped.groups.slice(0, SHOWN_GROUPS).map((g) => (
          <li key={g.reason} data-count={g.count} data-line={g.ranges[0]?.[0] ?? 0}>
            <strong>{g.count === 1 ? (g.ranges[0]![0] > 0 ? `line ${g.ranges[0]![0]}` : 'file') : `${formatInt(g.count)} lines`}:</strong> {g.reason}
            {g.count > 1 && <span className="muted"> — {describeLines(g)}</span>}
          </li>
        ))}
      </ul>
      {rest && <p className="muted">{rest}.</p>}
    </div>
  );
}

const MAX_EDITABLE = 300_000;

function Summary({ s, maxLength }: { s: DatasetSummary; maxLength: number }) {
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
      {s.issueCount > 0 && <SkippedRecords s={s} />}
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
  const { setDataText, pasteText, choosePasteKind, setDataOptions, chooseDemo, prepareData } = useStudio(useShallow(selectDataActions));
  const view = useStudio(useShallow(selectDataView));
  const setScreen = useStudio(selectSetScreen);
  const busy = view.busy;
  const o = data.options;
  const detected = detectPastedType(data.text);

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
                onChange={(e) => pasteText(e.target.value)}
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
              <select id="paste-kind" value={data.pasteKind ?? 'auto'} data-type={data.fileName.split('.').pop()} data-detected={detected} onChange={(e) => choosePasteKind(e.target.value as FileType | 'auto')}>
                <option value="auto">{KIND_LABEL[detected]} (detected)</option>
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
            <button type="button" onClick={() => void prepareData()} disabled={!view.canPrepare} data-testid="prepare-data">
              {busy ? 'Preparing…' : 'Prepare data'}
            </button>
          </div>
        </div>

        <div
          className="card"
          data-testid="data-summary"
          data-status={data.status}
          data-stale={String(view.stale)}
          data-shown={String(view.showSummary)}
          data-format={view.showSummary ? (data.summary?.format ?? '') : ''}
          data-examples={view.showSummary ? (data.summary?.trainExamples ?? 0) : 0}
        >
          <h3>{view.showSummary && data.summary ? data.summary.fileName : 'Nothing prepared yet'}</h3>
          {busy && <ProgressBar label={data.status === 'fetching' ? 'Fetching the demo dataset…' : 'Parsing and tokenizing…'} value={null} max={null} />}
          {view.waitingForModel && (
            <p className="notice">
              The data is tokenized with the model’s tokenizer, so a model must be loaded first.{' '}
              <button type="button" className="link" onClick={() => setScreen('model')}>
                Go to Model
              </button>
            </p>
          )}
          {view.stale && (
            <p className="notice" data-testid="data-stale">
              This summary is of earlier text or options{data.status === 'error' ? ', and the new ones could not be prepared (see below)' : ''}.{' '}
              <button type="button" className="small" onClick={() => void prepareData()} disabled={!view.canPrepare}>
                Prepare data
              </button>
            </p>
          )}
          <ErrorNote error={data.error} testId="data-error" />
          {data.error?.code === 'E401' && (
            <p className="muted" data-testid="data-error-formats">
              See <FormatsLink />.
            </p>
          )}
          {view.showSummary && data.summary && (
            <div className={view.stale ? 'stale' : undefined} aria-disabled={view.stale || undefined}>
              <Summary s={data.summary} maxLength={o.maxLength} />
            </div>
          )}
          <DataFormats />
        </div>
      </div>
    </section>
  );
}
