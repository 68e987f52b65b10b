/**
 * What survives a reload (localStorage): the screen, the model choice (Hub or URL only; a local
 * folder cannot be reopened without the user), the data text and options, the settings and the loss
 * history. With the checkpoint in IndexedDB this is what lets "Resume" continue a run after a reload.
 */
import type { TrainingSettings } from '../../../workers/api';
import { localFolderId } from '../../model/sources/source';
import type { ModelChoice } from '../lib/modelSource';
import type { DataOptions, DataState } from './dataSlice';
import type { StudioState } from './store';
import { useStudio } from './store';
import type { TrainHistory } from './trainProgress';
import { emptyProgress } from './trainProgress';
import type { ScreenId } from './uiSlice';
import { SCREENS } from './uiSlice';

export const STORAGE_KEY = 'shadowpeft-studio/v1';
/** Data larger than this is not kept (localStorage holds a few MB); the user re-opens the file. */
const MAX_TEXT_CHARS = 1_500_000;

export interface PersistedSession {
  screen: ScreenId;
  model: ModelChoice | null;
  data: { text: string | null; fileName: string; origin: DataState['origin']; demoFile: string | null; options: DataOptions };
  /** presetSource is absent in sessions saved before presets were fitted to the model */
  training: { presetId: string; presetSource?: 'auto' | 'user'; settings: TrainingSettings; history: TrainHistory };
}

export function pickSession(s: StudioState, keepText = true): PersistedSession {
  const choice = s.model.choice;
  const d = s.data;
  return {
    screen: s.ui.screen,
    model: choice && choice.source.kind !== 'files' ? choice : null,
    data: { text: keepText && d.text.length <= MAX_TEXT_CHARS ? d.text : null, fileName: d.fileName, origin: d.origin, demoFile: d.demoFile, options: d.options },
    training: { presetId: s.training.presetId, presetSource: s.training.presetSource, settings: s.training.settings, history: s.training.progress.history },
  };
}

/**
 * A saved choice as the studio makes it now: sessions saved before bundled models were recorded as
 * `local folder <name>` carry the bundled model's title as its source's id, which would reach the
 * adapter's base_model and the model card.
 */
function currentChoice(c: ModelChoice): ModelChoice {
  const name = c.key.startsWith('bundled:') ? c.key.slice('bundled:'.length) : '';
  return name && c.source.kind === 'url' ? { ...c, source: { ...c.source, label: localFolderId(name) } } : c;
}

/** Applies a saved session to a fresh store (before the worker is asked for anything). */
export function restoreSession(p: PersistedSession): void {
  useStudio.setState((s) => ({
    ui: { ...s.ui, screen: SCREENS.includes(p.screen) ? p.screen : s.ui.screen },
    model: { ...s.model, choice: p.model ? currentChoice(p.model) : s.model.choice },
    data: p.data.text
      ? { ...s.data, text: p.data.text, fileName: p.data.fileName, origin: p.data.origin, demoFile: p.data.demoFile, options: { ...s.data.options, ...p.data.options }, revision: s.data.revision + 1 }
      : { ...s.data, options: { ...s.data.options, ...p.data.options } },
    training: {
      ...s.training,
      presetId: p.training.presetId,
      // an older session's edits ('custom') were the user's; its named preset was the old default or a click
      presetSource: p.training.presetSource ?? (p.training.presetId === 'custom' ? 'user' : 'auto'),
      settings: { ...s.training.settings, ...p.training.settings, shadow: { ...s.training.settings.shadow, ...p.training.settings.shadow } },
      progress: { ...emptyProgress(), history: { ...emptyProgress().history, ...p.training.history } },
    },
  }));
}

function save(s: StudioState): void {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(pickSession(s)));
  } catch {
    try {
      localStorage.setItem(STORAGE_KEY, JSON.stringify(pickSession(s, false)));
    } catch {
      // storage full or disabled: the session simply is not kept
    }
  }
}

let started = false;

/** Restores the saved session once, then saves changes at most every two seconds. */
export function startPersistence(): void {
  if (started || typeof localStorage === 'undefined') return;
  started = true;
  try {
    const raw = localStorage.getItem(STORAGE_KEY);
    if (raw) restoreSession(JSON.parse(raw) as PersistedSession);
  } catch {
    localStorage.removeItem(STORAGE_KEY);
  }
  let timer: ReturnType<typeof setTimeout> | null = null;
  const relevant = (s: StudioState) => [s.ui.screen, s.model.choice, s.data.text, s.data.options, s.data.fileName, s.training.settings, s.training.presetId, s.training.presetSource, s.training.progress.history] as const;
  let last = relevant(useStudio.getState());
  useStudio.subscribe((s) => {
    const now = relevant(s);
    if (now.every((v, i) => v === last[i])) return;
    last = now;
    timer ??= setTimeout(() => {
      timer = null;
      save(useStudio.getState());
    }, 2000);
  });
  addEventListener('pagehide', () => save(useStudio.getState()));
}
