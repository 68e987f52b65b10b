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
