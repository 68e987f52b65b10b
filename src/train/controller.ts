/**
 * Pause, resume and stop for a running training loop, in the manner of an AbortController: the
 * owner keeps the controller, the loop checks it between optimizer steps (never inside one, so a
 * step is always whole when the loop waits or ends).
 */
export type ControlState = 'running' | 'paused' | 'stopping';

export class TrainController {
  private current: ControlState = 'running';
  private wake: (() => void) | null = null;

  get state(): ControlState {
    return this.current;
  }

  /** Asks the loop to wait after the current step (no effect once stopping). */
  pause(): void {
    if (this.current === 'running') this.current = 'paused';
  }

  resume(): void {
    if (this.current === 'paused') {
      this.current = 'running';
      this.release();
    }
  }

  /** Asks the loop to end after the current step; also ends a pause. */
  stop(): void {
    this.current = 'stopping';
    this.release();
  }

  /** Resolves once the controller is no longer paused (running again, or stopping). */
  waitWhilePaused(): Promise<void> {
    if (this.current !== 'paused') return Promise.resolve();
    return new Promise((resolve) => {
      const previous = this.wake;
      this.wake = () => {
        previous?.();
        resolve();
      };
    });
  }

  private release(): void {
    const w = this.wake;
    this.wake = null;
    w?.();
  }
}
