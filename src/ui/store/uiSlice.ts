import type { StateCreator } from 'zustand';
import type { StudioState } from './store';

export const SCREENS = ['model', 'data', 'configure', 'train', 'inspect', 'playground', 'adapters', 'device'] as const;
export type ScreenId = (typeof SCREENS)[number];

export const SCREEN_TITLES: Record<ScreenId, string> = {
  model: 'Model',
  data: 'Data',
  configure: 'Configure',
  train: 'Train',
  inspect: 'Inspect',
  playground: 'Playground',
  adapters: 'Adapters',
  device: 'GPU',
};

/** Which screen is shown. Every screen reads its state from the store, so switching loses nothing. */
export interface UiSlice {
  ui: { screen: ScreenId };
  setScreen: (screen: ScreenId) => void;
}

export const createUiSlice: StateCreator<StudioState, [], [], UiSlice> = (set) => ({
  ui: { screen: 'model' },
  setScreen: (screen) => set((s) => ({ ui: { ...s.ui, screen } })),
});
