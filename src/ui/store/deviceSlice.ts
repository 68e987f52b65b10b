import type { StateCreator } from 'zustand';
import type { Capabilities } from '../../engine/device';
import type { SelfTestResult, WorkerErrorInfo } from '../../../workers/api';
import { studioWorker, toErrorInfo } from '../worker/client';
import type { StudioState } from './store';

/** The GPU as the worker sees it, and the kernel self-test. */
export interface DeviceSlice {
  device: {
    status: 'idle' | 'acquiring' | 'ready' | 'unavailable';
    caps: Capabilities | null;
    error: WorkerErrorInfo | null;
  };
  selfTest: {
    status: 'idle' | 'running' | 'passed' | 'failed' | 'error';
    result: SelfTestResult | null;
    error: WorkerErrorInfo | null;
  };
  acquireDevice: () => Promise<void>;
  runSelfTest: () => Promise<void>;
  /**
   * The worker lost its GPU device (E005; a run it ended has reported its error). The model must be
   * loaded again: the Model screen says so, and the Train screen offers the newest checkpoint, whose
   * Resume loads the model again (a new device) and continues from it.
   */
  deviceLost: (error: WorkerErrorInfo) => Promise<void>;
}

export const createDeviceSlice: StateCreator<StudioState, [], [], DeviceSlice> = (set, get) => ({
  device: { status: 'idle', caps: null, error: null },
  selfTest: { status: 'idle', result: null, error: null },
  acquireDevice: async () => {
    if (get().device.status === 'acquiring') return;
    set({ device: { status: 'acquiring', caps: null, error: null } });
    if (!('gpu' in navigator)) {
      set({
        device: {
          status: 'unavailable',
          caps: null,
          error: { code: 'E001', message: 'this browser does not expose WebGPU (navigator.gpu is missing)', hint: '' },
        },
      });
      return;
    }
    try {
      const caps = await studioWorker().capabilities();
      set({ device: { status: 'ready', caps, error: null } });
    } catch (e) {
      set({ device: { status: 'unavailable', caps: null, error: toErrorInfo(e) } });
    }
  },
  deviceLost: async (error) => {
    // Nothing is held any more; a load in progress fails by itself (on the lost device).
    if (get().model.phase.status !== 'loading') set((s) => ({ model: { ...s.model, phase: { status: 'failed', key: s.model.choice?.key ?? '', stage: 'load', error, held: null } } }));
    try {
      const newest = [...(await studioWorker().listCheckpoints())].sort((a, b) => b.createdAt - a.createdAt)[0];
      if (newest) set((s) => ({ training: { ...s.training, resumeOffer: newest } }));
    } catch {
      // no checkpoint store: nothing to offer
    }
  },
  runSelfTest: async () => {
    set({ selfTest: { status: 'running', result: null, error: null } });
    try {
      const result = await studioWorker().selfTest();
      set({ selfTest: { status: result.passed ? 'passed' : 'failed', result, error: null } });
    } catch (e) {
      set({ selfTest: { status: 'error', result: null, error: toErrorInfo(e) } });
    }
  },
});
