import { describe, expect, it } from 'vitest';
import { axisRoom, labelWidth } from './axisRoom';

describe('axis room', () => {
  it('grows with the widest label, so a 5-digit maximum is not cut to 4 digits', () => {
    expect(labelWidth('11212', 11)).toBe(35); // 5 × 0.62 × 11 = 34.1
    const room = axisRoom(['11212', '0'], 11, 4, 34);
    expect(room).toBe(39);
    expect(room - 4).toBeGreaterThanOrEqual(labelWidth('11212', 11)); // the label ends 4 units before the axis and starts at x ≥ 0
    expect(axisRoom(['7', '0'], 11, 4, 34)).toBe(34); // small labels keep the minimum
  });
});
