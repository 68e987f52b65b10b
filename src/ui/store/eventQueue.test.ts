import { describe, expect, it } from 'vitest';
import type { StudioEvent } from '../../../workers/api';
import { createEventBatcher } from './eventQueue';

const token = (i: number): StudioEvent => ({ type: 'token', requestId: 1, mode: 'base', text: String(i) });

describe('createEventBatcher', () => {
  it('applies all events pushed within one frame as one batch, in order', () => {
    const frames: (() => void)[] = [];
    const batches: StudioEvent[][] = [];
    const q = createEventBatcher((b) => batches.push(b), (run) => frames.push(run));
    for (let i = 0; i < 100; i++) q.push(token(i));
    expect(frames).toHaveLength(1); // one frame scheduled for 100 events
    expect(batches).toHaveLength(0); // nothing touches the store before the frame
    frames[0]!();
    expect(batches).toHaveLength(1);
    expect(batches[0]!.map((e) => (e.type === 'token' ? e.text : ''))).toEqual(Array.from({ length: 100 }, (_, i) => String(i)));
    q.push(token(100));
    expect(frames).toHaveLength(2);
    frames[1]!();
    expect(batches).toHaveLength(2);
  });

  it('flush applies the queue at once and the pending frame then finds nothing', () => {
    const frames: (() => void)[] = [];
    const batches: StudioEvent[][] = [];
    const q = createEventBatcher((b) => batches.push(b), (run) => frames.push(run));
    q.push(token(1));
    q.push(token(2));
    expect(q.size).toBe(2);
    q.flush();
    expect(batches).toEqual([[token(1), token(2)]]);
    frames[0]!();
    expect(batches).toHaveLength(1);
    expect(q.size).toBe(0);
  });
});
