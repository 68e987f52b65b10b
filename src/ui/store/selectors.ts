/**
 * Module-level selectors (stable functions, so components re-render only when their part changes).
 * Selectors returning a new object are used with useShallow.
 */
import type { StudioState } from './store';

export const selectDevice = (s: StudioState) => s.device;
export const selectSelfTest = (s: StudioState) => s.selfTest;
export const selectAcquireDevice = (s: StudioState) => s.acquireDevice;
export const selectRunSelfTest = (s: StudioState) => s.runSelfTest;

export const selectScreen = (s: StudioState) => s.ui.screen;
export const selectSetScreen = (s: StudioState) => s.setScreen;

export const selectModel = (s: StudioState) => s.model;
export const selectModelActions = (s: StudioState) => ({ chooseModel: s.chooseModel, loadChosenModel: s.loadChosenModel, cancelModelLoad: s.cancelModelLoad });

export const selectData = (s: StudioState) => s.data;
export const selectDataActions = (s: StudioState) => ({ setDataText: s.setDataText, setDataOptions: s.setDataOptions, chooseDemo: s.chooseDemo, prepareData: s.prepareData });

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
  model: s.model.loadStatus === 'loaded' ? 'loaded' : s.model.loadStatus === 'loading' ? 'loading' : '',
  data: s.data.status === 'ready' ? 'ready' : s.data.status === 'preparing' || s.data.status === 'fetching' ? 'working' : '',
  train: s.training.progress.status === 'running' || s.training.progress.status === 'paused' ? s.training.progress.status : '',
});
