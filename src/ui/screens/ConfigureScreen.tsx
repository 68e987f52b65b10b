import { DEFAULT_EVAL_BATCHES } from '../../train/runConfig';
import { useEffect, useMemo } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { WorkerErrorInfo } from '../../../workers/api';
import { shadowConfigIssues } from '../../shadow/config';
import { countShadowParams, loraEquivalentRank, shadowParamBreakdown } from '../../shadow/paramCount';
import { resolveExplicitShadow } from '../../shadow/resolve';
import { MODEL_SIZE_CLASSES, modelSizeClass, presetsOfClass } from '../../shadow/presets';
import { ErrorNote } from '../components/ErrorNote';
import { NumberField } from '../components/NumberField';
import { ProgressBar } from '../components/ProgressBar';
import { ShadowSourcePicker } from '../components/ShadowSourcePicker';
import { baseArchitectureOf } from '../lib/baseArchitecture';
import { formatBytes, formatCount, formatDuration, formatPercent } from '../lib/format';
import { selectConfigureActions, selectData, selectLoadedModel, selectModel, selectModelLoaded, selectShadowModelActions, selectTraining } from '../store/selectors';
import { useStudio } from '../store/store';
import { toErrorInfo } from '../worker/client';

type ParamCount = { trainable: number; base: number; rank: number; breakdown: ReturnType<typeof countShadowParams> } | { error: WorkerErrorInfo } | null;

/** Screen 3: the shadow's shape (with the authors' presets), the optimiser, and what it will cost. */
export function ConfigureScreen() {
  const t = useStudio(selectTraining);
  const model = useStudio(selectModel);
  const data = useStudio(selectData);
  const { applyPreset, updateShadow, updateSettings, requestEstimate } = useStudio(useShallow(selectConfigureActions));
  const s = t.settings;
  const sh = s.shadow;
  const loadedModel = useStudio(selectLoadedModel);
  const modelLoaded = useStudio(selectModelLoaded);
  const info = loadedModel ?? model.info;
  const explicit = s.explicitShadow ?? null;
  const shadowInfo = explicit ? t.shadowModel.info : null;
  const { checkShadowModel } = useStudio(useShallow(selectShadowModelActions));

  // after a reload the settings name an explicit shadow whose sizes are not known yet: read them again
  const needsCheck = explicit !== null && t.shadowModel.status === 'idle';
  useEffect(() => {
    if (needsCheck) void checkShadowModel();
  }, [needsCheck, checkShadowModel]);

  // the live count is pure arithmetic on the config and the base's (and explicit shadow's) sizes: no worker call
  const count: ParamCount = useMemo(() => {
    if (!info) return null;
    const base = baseArchitectureOf(info);
    if (!base) return { error: { code: 'E850', message: `the shadow does not support the model type “${info.modelType}”`, hint: 'choose a Qwen3, Qwen2 or Llama-style model' } };
    const issue = shadowConfigIssues(sh)[0];
    if (issue) return { error: toErrorInfo(issue) };
    try {
      if (explicit && !shadowInfo) return null;
      const shadowArch = shadowInfo ? baseArchitectureOf(shadowInfo) : null;
      if (shadowInfo && !shadowArch) return { error: { code: 'E850', message: `the shadow does not support the model type “${shadowInfo.modelType}”`, hint: 'choose a Qwen3, Qwen2 or Llama-style shadow model' } };
      const breakdown = explicit && shadowArch ? shadowParamBreakdown(resolveExplicitShadow(sh, base, shadowArch, { ownEmbeddings: explicit.ownEmbeddings, freezeEmbeddings: explicit.freezeEmbeddings })) : countShadowParams(sh, base);
      return { trainable: breakdown.total, base: info.parameters, rank: loraEquivalentRank(base, breakdown.total), breakdown };
    } catch (e) {
      return { error: toErrorInfo(e) };
    }
  }, [info, sh, explicit, shadowInfo]);
  const implicitOnly = explicit ? 'set by the pretrained shadow model' : undefined;

  // the worker's estimate follows the settings, half a second after the last edit
  const ready = modelLoaded && data.status === 'ready';
  useEffect(() => {
    if (!ready) return;
    const id = setTimeout(() => void requestEstimate(), 500);
    return () => clearTimeout(id);
  }, [s, ready, requestEstimate]);

  const e = t.estimate;
  const set = updateSettings;
  const sizeClass = info ? MODEL_SIZE_CLASSES.find((c) => c.id === modelSizeClass(info.parameters))! : null;
  return (
    <section className="screen" data-testid="configure-screen">
      <h2>3 · Configure</h2>
      <p className="lead">Start from one of the authors’ recipes, sized by model; every number can be changed.</p>
      <div className="card" data-testid="presets" data-size-class={sizeClass?.id ?? ''} data-preset-source={t.presetSource}>
        <h3>Preset</h3>
        <p className="muted" data-testid="preset-fit">
          {info && sizeClass
            ? `${info.id}: ${formatCount(info.parameters)} parameters, size class ${sizeClass.short}. ${t.presetSource === 'auto' ? 'The preset that fits it is preselected' : 'Presets marked “fits this model” are sized for it'}; max length ${data.options.maxLength} tokens (Data screen).`
            : 'Choose a model on the Model screen: the preset that fits its size is preselected.'}
        </p>
        {MODEL_SIZE_CLASSES.map((c) => (
          <div key={c.id} data-size-class={c.id}>
            <h4>
              {c.label} <span className="muted">e.g. {c.examples}</span>
            </h4>
            <ul className="choices presets">
              {presetsOfClass(c.id).map((p) => {
                const fits = sizeClass?.id === c.id;
                return (
                  <li key={p.id}>
                    <button type="button" className="choice" aria-pressed={t.presetId === p.id} data-preset={p.id} data-fits={fits} onClick={() => applyPreset(p.id)}>
                      <span className="choice-title">
                        {p.name} {fits && <span className="nav-badge">fits this model</span>}
                      </span>
                      <span className="muted">{p.description}</span>
                    </button>
                  </li>
                );
              })}
            </ul>
          </div>
        ))}
        {t.presetNotes.length > 0 && (
          <ul className="muted" data-testid="preset-notes">
            {t.presetNotes.map((n) => (
              <li key={n}>{n}</li>
            ))}
          </ul>
        )}
        {t.presetId === 'custom' && <p className="muted">Custom settings (edited after choosing a preset).</p>}
      </div>

      <div className="cols">
        <div className="card">
          <h3>Shadow network</h3>
          <ShadowSourcePicker base={info} />
          <div className="form-grid">
            <NumberField name="num_shadow_layers" label="Shadow layers" value={shadowInfo ? shadowInfo.layers : sh.num_shadow_layers} integer min={1} disabled={!!explicit} onChange={(v) => v !== null && updateShadow({ num_shadow_layers: v })} help={implicitOnly ?? 'decoder layers in the shadow'} />
            <NumberField
              name="shadow_intermediate_size"
              label="Shadow MLP width"
              value={shadowInfo ? shadowInfo.intermediate : sh.shadow_intermediate_size}
              integer
              min={1}
              nullable
              placeholder={info ? `as base (${info.intermediate})` : 'as base'}
              disabled={!!explicit}
              onChange={(v) => updateShadow({ shadow_intermediate_size: v })}
              help={implicitOnly ?? 'empty = the base model’s'}
            />
            <NumberField name="injection_hidden_size" label="Injection rank R" value={sh.injection_hidden_size} integer min={1} onChange={(v) => v !== null && updateShadow({ injection_hidden_size: v })} />
            <NumberField name="gate_hidden_size" label="Gate width G" value={sh.gate_hidden_size} integer min={2} onChange={(v) => v !== null && updateShadow({ gate_hidden_size: v })} />
            <NumberField name="alpha" label="Injection scale α" value={sh.alpha} step={0.05} onChange={(v) => v !== null && updateShadow({ alpha: v })} />
            <NumberField name="dropout" label="Dropout" value={sh.dropout} min={0} max={0.99} step={0.05} onChange={(v) => v !== null && updateShadow({ dropout: v })} />
            <NumberField name="shadowLossWeight" label="Shadow loss weight λ" value={s.shadowLossWeight} min={0} step={0.01} onChange={(v) => v !== null && set({ shadowLossWeight: v })} help="weight of the detached shadow’s own loss" />
          </div>
          <details hidden={!!explicit}>
            <summary>Shadow attention (advanced)</summary>
            <div className="form-grid">
              <NumberField label="Query heads" value={sh.shadow_num_attention_heads} integer min={1} nullable placeholder={info ? `as base (${info.heads})` : 'as base'} onChange={(v) => updateShadow({ shadow_num_attention_heads: v })} />
              <NumberField label="Key/value heads" value={sh.shadow_num_key_value_heads} integer min={1} nullable placeholder={info ? `as base (${info.kvHeads})` : 'as base'} onChange={(v) => updateShadow({ shadow_num_key_value_heads: v })} />
              <NumberField label="Head size" value={sh.shadow_head_dim} integer min={1} nullable placeholder={info ? `as base (${info.headDim})` : 'as base'} onChange={(v) => updateShadow({ shadow_head_dim: v })} />
            </div>
          </details>
        </div>

        <div
          className="card"
          data-testid="param-count"
          data-trainable={count && 'trainable' in count ? count.trainable : ''}
          data-percent={count && 'trainable' in count ? count.trainable / count.base : ''}
          data-lora-rank={count && 'trainable' in count ? count.rank : ''}
        >
          <h3>Trainable parameters</h3>
          {!count && <p className="muted">{info ? 'Waiting for the shadow model’s sizes…' : 'Choose a model on the Model screen to count parameters.'}</p>}
          {count && 'error' in count && <ErrorNote error={count.error} />}
          {count && 'trainable' in count && (
            <>
              <p className="big-number">
                {formatCount(count.trainable)} <span className="muted">= {formatPercent(count.trainable / count.base)} of the base’s {formatCount(count.base)}</span>
              </p>
              <p>
                The same budget as LoRA with rank <strong>{count.rank.toFixed(1)}</strong> on q, k, v and o.
              </p>
              <dl className="facts compact">
                <div className="fact-pair">
                  <dt>{explicit ? 'shadow model' : 'shadow layers'}</dt>
                  <dd>{formatCount(count.breakdown.backbone)}</dd>
                </div>
                {count.breakdown.frozen > 0 && (
                  <div className="fact-pair">
                    <dt>frozen embeddings</dt>
                    <dd>{formatCount(count.breakdown.frozen)} (not trained)</dd>
                  </div>
                )}
                {count.breakdown.projection > 0 && (
                  <div className="fact-pair">
                    <dt>projection</dt>
                    <dd>{formatCount(count.breakdown.projection)}</dd>
                  </div>
                )}
                <div className="fact-pair">
                  <dt>injection</dt>
                  <dd>{formatCount(count.breakdown.injection)}</dd>
                </div>
                <div className="fact-pair">
                  <dt>update gates</dt>
                  <dd>{formatCount(count.breakdown.update)}</dd>
                </div>
              </dl>
            </>
          )}
        </div>
      </div>

      <div className="cols">
        <div className="card">
          <h3>Training</h3>
          <div className="form-grid">
            <NumberField name="learningRate" label="Learning rate" value={s.learningRate} min={0} step="any" onChange={(v) => v !== null && set({ learningRate: v })} />
            <NumberField name="weightDecay" label="Weight decay" value={s.weightDecay} min={0} step={0.01} onChange={(v) => v !== null && set({ weightDecay: v })} />
            <NumberField name="warmupRatio" label="Warm-up ratio" value={s.warmupRatio} min={0} max={1} step={0.01} onChange={(v) => v !== null && set({ warmupRatio: v })} />
            <div className="field">
              <label htmlFor="schedule">Schedule</label>
              <select id="schedule" value={s.schedule} onChange={(ev) => set({ schedule: ev.target.value as 'linear' | 'cosine' })}>
                <option value="linear">linear decay</option>
                <option value="cosine">cosine decay</option>
              </select>
            </div>
            <NumberField name="maxGradNorm" label="Gradient clipping" value={s.maxGradNorm} min={0} step={0.1} onChange={(v) => v !== null && set({ maxGradNorm: v })} />
            <NumberField name="microBatchSize" label="Micro-batch" value={s.microBatchSize} integer min={1} onChange={(v) => v !== null && set({ microBatchSize: v })} help="sequences per GPU pass" />
            <NumberField name="gradientAccumulation" label="Accumulation" value={s.gradientAccumulation} integer min={1} onChange={(v) => v !== null && set({ gradientAccumulation: v })} help={`batch = ${s.microBatchSize * s.gradientAccumulation} sequence${s.microBatchSize * s.gradientAccumulation === 1 ? '' : 's'}`} />
            <NumberField name="epochs" label="Epochs" value={s.epochs} integer min={1} onChange={(v) => v !== null && set({ epochs: v })} />
            <NumberField name="evalEvery" label="Evaluate every (steps)" value={s.evalEvery} integer min={0} onChange={(v) => v !== null && set({ evalEvery: v })} help="0 = never" />
            <NumberField name="evalBatches" label="Evaluation batches" value={s.evalBatches ?? DEFAULT_EVAL_BATCHES} integer min={0} onChange={(v) => v !== null && set({ evalBatches: v })} help="the first of the validation set; 0 = all" />
            <NumberField name="checkpointEvery" label="Checkpoint every (steps)" value={s.checkpointEvery} integer min={0} onChange={(v) => v !== null && set({ checkpointEvery: v })} help="saved in this browser" />
            <NumberField name="earlyStoppingPatience" label="Early-stopping patience" value={s.earlyStoppingPatience} integer min={0} onChange={(v) => v !== null && set({ earlyStoppingPatience: v })} help="evaluations; 0 = off" />
            <NumberField name="seed" label="Seed" value={s.seed} integer min={0} onChange={(v) => v !== null && set({ seed: v })} />
          </div>
        </div>

        <div
          className="card"
          data-testid="estimate"
          data-status={t.estimateStatus}
          data-trainable={e?.trainableParameters ?? ''}
          data-total-bytes={e?.memory.total ?? ''}
          data-ms-per-step={e?.msPerStep ?? ''}
          data-ms-per-evaluation={e?.msPerEvaluation ?? ''}
          data-ms-total={e?.msTotal ?? ''}
        >
          <h3>Estimate</h3>
          {!ready && <p className="muted">Load a model and prepare data to estimate memory and time.</p>}
          {t.estimateStatus === 'estimating' && <ProgressBar label="Measuring a warm-up step…" value={null} max={null} />}
          <ErrorNote error={t.estimateError} />
          {e && (
            // While a new estimate is measured, the last one is shown greyed out: it belongs to the old settings.
            <dl className={`facts${t.estimateStatus === 'estimating' ? ' stale' : ''}`} aria-busy={t.estimateStatus === 'estimating'}>
              <dt>GPU memory</dt>
              <dd>
                <strong>{formatBytes(e.memory.total)}</strong> = weights {formatBytes(e.memory.weights)} + adapter and optimizer {formatBytes(e.memory.adapter)} + activations {formatBytes(e.memory.activations)}
              </dd>
              <dt>Checkpoint</dt>
              <dd data-testid="checkpoint-bytes">
                {formatBytes(e.checkpointBytes)} in this browser’s storage each{s.checkpointEvery > 0 ? ' (the newest 3 are kept)' : ''}
              </dd>
              <dt>Per epoch</dt>
              <dd>
                {e.stepsPerEpoch} steps, {formatCount(e.tokensPerEpoch)} tokens
              </dd>
              <dt>Time</dt>
              <dd data-testid="estimate-time">
                {e.msPerStep === null ? (
                  'measured when training starts'
                ) : (
                  <>
                    {formatDuration(e.msPerStep)} per step × {e.totalSteps} steps
                    {e.evaluations > 0 && e.msPerEvaluation !== null ? ` + ${formatDuration(e.msPerEvaluation)} per evaluation × ${e.evaluations}` : ''}
                    {e.msTotal !== null ? <> ≈ <strong>{formatDuration(e.msTotal)}</strong> in all</> : null}
                  </>
                )}
              </dd>
              <dt>Worker’s count</dt>
              <dd>
                {formatCount(e.trainableParameters)} trainable ≈ LoRA rank {e.loraEquivalentRank.toFixed(1)}
              </dd>
            </dl>
          )}
        </div>
      </div>
    </section>
  );
}
