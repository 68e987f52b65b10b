/**
 * Module-level selectors (stable functions, so components re-render only when their part changes).
 * Selectors returning a new object are used with useShallow.
 */
import { heldModelOf } from './modelSlice';
import type { StudioState } from './store';

export const selectDevice = (s: StudioState) => s.device;
export const selectSelfTest = (s: StudioState) => s.selfTest;
export const selectAcquireDevice = (s: StudioState) => s.acquireDevice;
export const selectRunSelfTest = (s: StudioState) => s.runSelfTest;

export const selectScreen = (s: StudioState) => s.ui.screen;
export const selectSetScreen = (s: StudioState) => s.setScreen;

export const selectModel = (s: StudioState) => s.model;
/** The model the worker holds (null: none, or one is loading): every "is a model loaded?" asks this. */
export const selectHeldModel = (s: StudioState) => heldModelOf(s.model.phase);
export const selectLoadedModel = (s: StudioState) => heldModelOf(s.model.phase)?.model ?? null;
export const selectModelLoaded = (s: StudioState) => heldModelOf(s.model.phase) !== null;
/** The facts to show for the chosen model: its lookup, else the loaded one's. */
export const selectModelFacts = (s: StudioState) => s.model.info ?? selectLoadedModel(s);

/** The Model screen's view of the one model state (use with useShallow). */
export const selectModelView = (s: StudioState) => {
  const { phase, choice } = s.model;
  const held = heldModelOf(phase);
  const current = choice?.key ?? null;
  const loadedHere = held !== null && held.key === current;
  return {
    held,
    loadedHere,
    lookingUp: phase.status === 'looking-up',
    loading: phase.status === 'loading',
    progress: phase.status === 'loading' ? phase.progress : null,
    /** the one error to show: the last lookup's or load's */
    error: phase.status === 'failed' ? phase.error : null,
    errorStage: phase.status === 'failed' ? phase.stage : null,
    /** data-status of the load area: of the chosen model */
    loadStatus: phase.status === 'loading' ? 'loading' : loadedHere ? 'loaded' : phase.status === 'failed' && phase.key === current ? 'error' : 'idle',
  };
};
export const selectModelActions = (s: StudioState) => ({ chooseModel: s.chooseModel, loadChosenModel: s.loadChosenModel, cancelModelLoad: s.cancelModelLoad });

export const selectData = (s: StudioState) => s.data;
/** The prepared summary describes the current text and options (else it is stale: greyed, with its action). */
export const selectDataCurrent = (s: StudioState) => s.data.summary !== null && s.data.preparedRevision === s.data.revision;
/** The Data screen's derived state (use with useShallow). */
export const selectDataView = (s: StudioState) => {
  const d = s.data;
  const current = selectDataCurrent(s);
  const hasText = d.text.trim() !== '';
  const busy = d.status === 'preparing' || d.status === 'fetching';
  return {
    busy,
    /** a summary of earlier text or options; hidden when there is no text to prepare any more */
    stale: d.summary !== null && !current && hasText,
    showSummary: d.summary !== null && (current || hasText),
    canPrepare: !busy && hasText,
    waitingForModel: d.status === 'waiting-model' && !selectModelLoaded(s),
  };
};
export const selectDataActions = (s: StudioState) => ({ setDataText: s.setDataText, pasteText: s.pasteText, choosePasteKind: s.choosePasteKind, setDataOptions: s.setDataOptions, chooseDemo: s.chooseDemo, prepareData: s.prepareData });

export const selectTraining = (s: StudioState) => s.training;
export const selectTrainingSettings = (s: StudioState) => s.training.settings;
export const selectProgress = (s: StudioState) => s.training.progress;
export const selectHistory = (s: StudioState) => s.training.progress.history;
export const selectResumeOffer = (s: StudioState) => s.training.resumeOffer;
export const selectPreparing = (s: StudioState) => s.training.preparing;
export const selectConfigureActions = (s: StudioState) => ({ applyPreset: s.applyPreset, updateShadow: s.updateShadow, updateSettings: s.updateSettings, requestEstimate: s.requestEstimate });
export const selectShadowModelActions = (s: StudioState) => ({
  setShadowModelInput: s.setShadowModelInput,
  checkShadowModel: s.checkShadowModel,
  setShadowEmbeddings: s.setShadowEmbeddings,
  chooseImplicitShadow: s.chooseImplicitShadow,
});
export const selectTrainActions = (s: StudioState) => ({
  startTraining: s.startTraining,
  pauseTraining: s.pauseTraining,
  resumeTraining: s.resumeTraining,
  stopTraining: s.stopTraining,
  cancelEvaluation: s.cancelEvaluation,
  dismissResume: s.dismissResume,
  setScreen: s.setScreen,
});

export const selectInspect = (s: StudioState) => s.inspect;
export const selectInspectActions = (s: StudioState) => ({ setInspectPrompt: s.setInspectPrompt, runInspect: s.runInspect, selectCell: s.selectCell, showSnapshot: s.showSnapshot });
export const selectPlayground = (s: StudioState) => s.playground;
export const selectPlaygroundActions = (s: StudioState) => ({ setPlayground: s.setPlayground, runPlayground: s.runPlayground, cancelPlayground: s.cancelPlayground });

export const selectAdapters = (s: StudioState) => s.adapters;
export const selectAdapterActions = (s: StudioState) => ({
  refreshCheckpoints: s.refreshCheckpoints,
  deleteCheckpoint: s.deleteCheckpoint,
  downloadAdapterZip: s.downloadAdapterZip,
  downloadCheckpointZip: s.downloadCheckpointZip,
  importAdapterFiles: s.importAdapterFiles,
  startTraining: s.startTraining,
  setScreen: s.setScreen,
});

/** What the nav bar shows next to each screen's name. */
export const selectNavBadges = (s: StudioState) => ({
  model: s.model.phase.status === 'loading' ? 'loading' : selectModelLoaded(s) ? 'loaded' : '',
  data: s.data.status === 'preparing' || s.data.status === 'fetching' ? 'working' : s.data.status === 'ready' && selectDataCurrent(s) ? 'ready' : '',
  train: s.training.progress.status === 'running' || s.training.progress.status === 'paused' ? s.training.progress.status : '',
});
