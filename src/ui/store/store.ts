/**
 * The studio's one zustand store, composed from slices (CONVENTIONS.md §8). Each slice keeps its
 * actions beside its state; components read through the selectors in selectors.ts.
 */
import { create } from 'zustand';
import type { DeviceSlice } from './deviceSlice';
import { createDeviceSlice } from './deviceSlice';

export type StudioState = DeviceSlice;

export const useStudio = create<StudioState>()((...a) => ({
  ...createDeviceSlice(...a),
}));
