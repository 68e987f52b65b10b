/**
 * WGSL pieces several kernels share, spliced in by `#include <name> [KEY=value …]` (see wgsl.ts).
 * WGSL has no imports; this keeps one copy of each.
 */
import keyVisible from './key_visible.wgsl?raw';
import workgroupSum from './workgroup_sum.wgsl?raw';

export const WGSL_INCLUDES: Readonly<Record<string, string>> = {
  workgroup_sum: workgroupSum,
  key_visible: keyVisible,
};
