/**
 * The studio's one zustand store, composed from slices (docs/conventions.md §8). Each slice keeps its
 * actions beside its state; components read through the module-level selectors in selectors.ts.
 */
import { create } from 'zustand';
import type { AdaptersSlice } from './adaptersSlice';
import { createAdaptersSlice } from './adaptersSlice';
import type { DataSlice } from './dataSlice';
import { createDataSlice } from './dataSlice';
import type { DeviceSlice } from './deviceSlice';
import { createDeviceSlice } from './deviceSlice';
import type { EventsSlice } from './eventsSlice';
import { createEventsSlice } from './eventsSlice';
import type { InspectSlice } from './inspectSlice';
import { createInspectSlice } from './inspectSlice';
import type { ModelSlice } from './modelSlice';
import { createModelSlice } from './modelSlice';
import type { TrainingSlice } from './trainingSlice';
import { createTrainingSlice } from './trainingSlice';
import type { UiSlice } from './uiSlice';
import { createUiSlice } from './uiSlice';

export type StudioState = DeviceSlice & UiSlice & ModelSlice & DataSlice & TrainingSlice & InspectSlice & AdaptersSlice & EventsSlice;

export const useStudio = create<StudioState>()((...a) => ({
  ...createDeviceSlice(...a),
  ...createUiSlice(...a),
  ...createModelSlice(...a),
  ...createDataSlice(...a),
  ...createTrainingSlice(...a),
  ...createInspectSlice(...a),
  ...createAdaptersSlice(...a),
  ...createEventsSlice(...a),
}));

/** Back to the state the page opened with (tests reset the store between cases). */
export function resetStudio(): void {
  useStudio.setState(useStudio.getInitialState(), true);
}
