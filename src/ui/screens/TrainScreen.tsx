import { useMemo } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { CheckpointInfo } from '../../../workers/api';
import { ErrorNote } from '../components/ErrorNote';
import type { ChartSeries } from '../components/LineChart';
import { LineChart } from '../components/LineChart';
import { ProgressBar } from '../components/ProgressBar';
import { formatBytes, formatCount, formatDuration, formatEpoch, formatMetric } from '../lib/format';
import { selectHistory, selectPreparing, selectProgress, selectResumeOffer, selectTrainActions, selectTraining } from '../store/selectors';
import { useStudio } from '../store/store';
import type { TrainHistory } from '../store/trainProgress';
import { lossTrend } from '../store/trainProgress';

const STATUS_TEXT = { idle: 'not started', starting: 'starting…', running: 'training', paused: 'paused', stopped: 'stopped', done: 'finished', error: 'failed' } as const;

/** Validation losses placed at the x of their step (null elsewhere), so both share one chart. */
export function alignValidation(h: TrainHistory): (number | null)[] {
  const at = new Map<number, number>();
  h.step.forEach((s, i) => at.set(s, i));
  const out: (number | null)[] = h.step.map(() => null);
  h.valStep.forEach((s, i) => {
    const k = at.get(s);
    if (k !== undefined) out[k] = h.valLoss[i]!;
  });
  return out;
}

export function ResumeOffer({ offer, compact }: { offer: CheckpointInfo; compact?: boolean }) {
  const { startTraining, dismissResume, setScreen } = useStudio(useShallow(selectTrainActions));
  const preparing = useStudio(selectPreparing);
  return (
    <div className={`resume-offer${compact ? ' compact' : ''}`} role="region" aria-label="Resume training" data-testid="resume-offer" data-checkpoint={offer.id} data-step={offer.step}>
      <p>
        A run on <strong>{offer.baseModel}</strong> was saved at step <strong>{offer.step}</strong>
        {offer.loss !== null ? ` (loss ${formatMetric(offer.loss)})` : ''} on {new Date(offer.createdAt).toLocaleString()}. Continue it?
      </p>
      <div className="actions">
        <button
          type="button"
          onClick={() => {
            setScreen('train');
            void startTraining(offer.id);
          }}
          disabled={preparing !== null}
        >
          {preparing ? `Resuming: ${preparing}…` : 'Resume training'}
        </button>
        <button type="button" className="secondary" onClick={dismissResume}>
          Not now
        </button>
      </div>
    </div>
  );
}

function Stat({ label, value, testId }: { label: string; value: string; testId?: string }) {
  return (
    <div className="stat" data-testid={testId}>
      <span className="stat-label">{label}</span>
      <span className="stat-value">{value}</span>
    </div>
  );
}

/** " · about 20 s left" from the batches done so far; empty until the first batch is done. */
function evaluationEta(e: { done: number; total: number; startedAt: number }): string {
  if (e.done === 0) return '';
  const perBatch = (performance.now() - e.startedAt) / e.done;
  return ` · about ${formatDuration(perBatch * (e.total - e.done))} left`;
}

/** Screen 4: run, watch and control training. */
export function TrainScreen() {
  const training = useStudio(selectTraining);
  const p = useStudio(selectProgress);
  // an explicit shadow's weights still coming in (after the last byte: compiling and the first step)
  const reading = p.shadowDownload && p.shadowDownload.loaded !== p.shadowDownload.total ? p.shadowDownload : null;
  const h = useStudio(selectHistory);
  const offer = useStudio(selectResumeOffer);
  const { startTraining, pauseTraining, resumeTraining, stopTraining, cancelEvaluation } = useStudio(useShallow(selectTrainActions));
  const evaluation = p.evaluation;
  const last = p.last;
  const step = last?.step ?? (h.step.length ? h.step[h.step.length - 1]! : 0);
  const loss = last?.loss ?? (h.loss.length ? h.loss[h.loss.length - 1]! : null);
  const trend = lossTrend(h);
  const active = p.status === 'running' || p.status === 'paused' || p.status === 'starting';

  const lossSeries: ChartSeries[] = useMemo(
    () => [
      { label: 'train loss', values: h.loss, color: '#3d63dd' },
      { label: 'validation loss', values: alignValidation(h), color: '#e5484d', points: true },
      { label: 'shadow-only loss', values: h.shadowLoss, color: '#8e8c99', dash: [4, 4] },
    ],
    [h],
  );
  const lrSeries: ChartSeries[] = useMemo(() => [{ label: 'learning rate', values: h.lr, color: '#30a46c' }], [h]);
  const gradSeries: ChartSeries[] = useMemo(() => [{ label: 'grad norm', values: h.gradNorm, color: '#f76808' }], [h]);

  return (
    <section
      className="screen"
      data-testid="train-screen"
      data-status={p.status}
      data-phase={evaluation ? 'evaluating' : p.status}
      data-step={step}
      data-loss={loss ?? ''}
      data-loss-start={trend.start ?? ''}
      data-loss-end={trend.end ?? ''}
      data-val-loss={p.lastEval?.valLoss ?? h.valLoss[h.valLoss.length - 1] ?? ''}
      data-epoch={last?.epoch ?? ''}
      data-checkpoints={p.checkpoints.length}
    >
      <h2>4 · Train</h2>
      {offer && !active && <ResumeOffer offer={offer} />}
      <div className="card">
        <div className="actions">
          {!active && (
            <button type="button" onClick={() => void startTraining()} disabled={training.preparing !== null} data-testid="start-training">
              {p.status === 'idle' ? 'Start training' : 'Start a new run'}
            </button>
          )}
          {p.status === 'running' && (
            <button type="button" onClick={() => void pauseTraining()} disabled={training.commandPending || p.pausing} data-testid="pause-training">
              {p.pausing ? 'Pausing…' : 'Pause'}
            </button>
          )}
          {p.status === 'paused' && (
            <button type="button" onClick={() => void resumeTraining()} disabled={training.commandPending}>
              Resume
            </button>
          )}
          {/* From the moment a run starts: a Stop while it is being set up ends it before its first step. */}
          {active && (
            <button type="button" className="danger" onClick={() => void stopTraining()} disabled={training.commandPending} data-testid="stop-training">
              Stop
            </button>
          )}
          <span className={`status-pill status-${p.status}`} data-testid="train-status">
            {evaluation && p.status === 'running' ? 'evaluating' : STATUS_TEXT[p.status]}
            {p.reason && p.status !== 'running' && p.reason !== p.status && p.reason !== STATUS_TEXT[p.status] ? ` (${p.reason})` : ''}
          </span>
        </div>
        {training.preparing && <ProgressBar label={`Getting ready: ${training.preparing}…`} value={null} max={null} />}
        {p.status === 'starting' && !training.preparing && reading && (
          <ProgressBar label={`Reading the shadow model’s weights (${reading.file})…`} value={reading.loaded} max={reading.total} />
        )}
        {p.status === 'starting' && !training.preparing && !reading && <ProgressBar label="Compiling the training kernels and taking the first step…" value={null} max={null} />}
        {last && active && <ProgressBar label={`Step ${last.step} of ${last.totalSteps}`} value={last.step} max={last.totalSteps} testId="train-progress" />}
        {evaluation && active && (
          <div className="evaluation" data-testid="evaluation" data-done={evaluation.done} data-total={evaluation.total} data-step={evaluation.step}>
            <ProgressBar label={`Evaluating ${evaluation.done} / ${evaluation.total} batches after step ${evaluation.step}${evaluationEta(evaluation)}`} value={evaluation.done} max={evaluation.total} />
            <button type="button" className="secondary" onClick={() => void cancelEvaluation()} disabled={training.commandPending} data-testid="cancel-evaluation">
              Cancel evaluation
            </button>
          </div>
        )}
        {p.lastEvalCancel && !evaluation && p.lastEvalCancel.reason === 'cancelled' && <p className="muted">The evaluation after step {p.lastEvalCancel.step} was cancelled; training went on.</p>}
        <ErrorNote error={p.error} testId="train-error" />
        {p.warning && (
          <div className="notice" data-testid="train-warning">
            At step {p.warning.step}, training went on despite a problem:
            <ErrorNote error={p.warning.error} />
          </div>
        )}
        <div className="stats">
          <Stat label="step" value={last ? `${last.step} / ${last.totalSteps}` : String(step)} testId="stat-step" />
          <Stat label="epoch" value={formatEpoch(last?.epoch)} testId="train-epoch" />
          <Stat label="loss" value={formatMetric(loss)} testId="stat-loss" />
          <Stat label="validation loss" value={p.lastEval ? `${formatMetric(p.lastEval.valLoss)} (ppl ${formatMetric(p.lastEval.perplexity, 3)})` : formatMetric(h.valLoss[h.valLoss.length - 1])} />
          <Stat label="tokens/s" value={last ? formatCount(last.tokensPerSecond) : '—'} />
          <Stat label="elapsed" value={last ? formatDuration(last.elapsedMs) : '—'} />
          <Stat label="ETA" value={last && active ? formatDuration(last.etaMs) : '—'} />
          <Stat label="GPU memory" value={last && last.memoryBytes > 0 ? formatBytes(last.memoryBytes) : '—'} />
        </div>
        {p.skippedCount > 0 && p.lastSkipped && (
          <p className="notice">
            {p.skippedCount} step{p.skippedCount === 1 ? '' : 's'} skipped; the last at step {p.lastSkipped.step}: {p.lastSkipped.reason}. If this keeps happening, lower the learning rate on the Configure screen.
          </p>
        )}
      </div>
      <div className="charts">
        <div className="card">
          <LineChart title="Loss" x={h.step} series={lossSeries} testId="chart-loss" />
        </div>
        <div className="card">
          <LineChart title="Learning rate" x={h.step} series={lrSeries} testId="chart-lr" height={150} />
        </div>
        <div className="card">
          <LineChart title="Gradient norm (before clipping)" x={h.step} series={gradSeries} testId="chart-grad" height={150} />
        </div>
      </div>
      <div className="card" data-testid="samples" data-count={p.samples.length}>
        <h3>Samples during training</h3>
        {p.samples.length === 0 ? (
          <p className="muted">The model’s answers to a fixed prompt appear here as training goes on.</p>
        ) : (
          <ol className="samples">
            {p.samples.map((s, i) => (
              <li key={`${s.step}-${i}`}>
                <span className="muted">step {s.step} · {s.prompt}</span>
                <p className="sample-text">{s.text}</p>
              </li>
            ))}
          </ol>
        )}
      </div>
    </section>
  );
}
