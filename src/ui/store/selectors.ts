import type { StudioState } from './store';

export const selectDevice = (s: StudioState) => s.device;
export const selectSelfTest = (s: StudioState) => s.selfTest;
export const selectAcquireDevice = (s: StudioState) => s.acquireDevice;
export const selectRunSelfTest = (s: StudioState) => s.runSelfTest;
