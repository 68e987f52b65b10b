import type { FormEvent } from 'react';
import { useState } from 'react';
import { useShallow } from 'zustand/react/shallow';
import type { ModelInfo } from '../../../workers/api';
import { formatCount } from '../lib/format';
import { selectShadowModelActions, selectTraining } from '../store/selectors';
import { useStudio } from '../store/store';
import type { ShadowEmbeddings } from '../../shadow/explicitShadow';
import { shadowEmbeddingsOf } from '../../shadow/explicitShadow';
import { ErrorNote } from './ErrorNote';

const EMBEDDING_CHOICES: readonly [ShadowEmbeddings, string][] = [
  ['own', 'its own, trained'],
  ['frozen', 'its own, frozen (less GPU memory)'],
  ['base', 'the base model’s'],
];

/**
 * Where the shadow comes from (docs/shadowpeft.md §5/§6): fresh layers of the base's architecture (the
 * implicit shadow, the default), or a pretrained model with the base's tokenizer (an explicit shadow).
 */
export function ShadowSourcePicker({ base }: { base: ModelInfo | null }) {
  const t = useStudio(selectTraining);
  const { setShadowModelInput, checkShadowModel, setShadowEmbeddings, chooseImplicitShadow } = useStudio(useShallow(selectShadowModelActions));
  const explicit = t.settings.explicitShadow ?? null;
  const check = t.shadowModel;
  // the explicit form shows as soon as it is chosen; the settings name a model only once it is checked
  const [wantsExplicit, setWantsExplicit] = useState(explicit !== null);
  const explicitChosen = wantsExplicit || explicit !== null;
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void checkShadowModel();
  };
  const info = check.info;
  const embeddings = explicit ? shadowEmbeddingsOf(explicit) : 'own';
  return (
    <div className="shadow-source" data-testid="shadow-source" data-explicit={explicit ? 'true' : 'false'}>
      <fieldset className="radio-row">
        <legend>Where the shadow comes from</legend>
        <label>
          <input type="radio" name="shadow-source" checked={!explicitChosen} onChange={() => {
              setWantsExplicit(false);
              chooseImplicitShadow();
            }} /> fresh layers of the base’s architecture
        </label>
        <label>
          <input type="radio" name="shadow-source" checked={explicitChosen} onChange={() => setWantsExplicit(true)} /> a pretrained model (explicit shadow)
        </label>
      </fieldset>
      {explicitChosen && (
        <form className="inline-form" onSubmit={onSubmit}>
          <label htmlFor="shadow-model">Shadow model: Hub repo id or URL, with the base’s tokenizer</label>
          <div className="row">
            <input id="shadow-model" type="text" placeholder="e.g. HuggingFaceTB/SmolLM2-135M-Instruct" value={check.input} onChange={(e) => setShadowModelInput(e.target.value)} spellCheck={false} />
            <button type="submit" disabled={check.status === 'checking'}>
              {check.status === 'checking' ? 'Checking…' : 'Use'}
            </button>
          </div>
          <ErrorNote error={check.error} testId="shadow-model-error" />
          {!explicit && check.status !== 'checking' && <p className="muted">Until a model is checked here with “Use”, training uses fresh layers of the base’s architecture.</p>}
          {explicit && info && (
            <>
              <p className="muted" data-testid="shadow-model-info">
                Using {info.id}: {info.modelType}, {info.layers} layers, {info.hidden} wide, vocabulary {formatCount(info.vocab)}, {formatCount(info.parameters)} parameters.
                {base && info.hidden !== base.hidden ? ` A projection (${base.hidden} × ${info.hidden}) maps its states to the base width.` : ''}
              </p>
              <fieldset className="radio-row" data-testid="shadow-embeddings" data-value={embeddings}>
                <legend>Its token embeddings</legend>
                {EMBEDDING_CHOICES.map(([kind, label]) => (
                  <label key={kind}>
                    <input type="radio" name="shadow-embeddings" checked={embeddings === kind} onChange={() => setShadowEmbeddings(kind)} /> {label}
                    {kind === 'base' && base && info.hidden !== base.hidden ? ' (needs the base’s width)' : ''}
                  </label>
                ))}
              </fieldset>
            </>
          )}
        </form>
      )}
    </div>
  );
}
