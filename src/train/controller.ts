/**
 * Pause, resume and stop for a running training loop, in the manner of an AbortController: the
 * owner keeps the controller, the loop checks it between micro-batches and between evaluation
 * batches. A pause inside a step waits there with the step's gradients kept; a stop abandons the step
 * (nothing of it is applied), so the parameters always stand at a whole step.
 */
export type ControlState = 'running' | 'paused' | 'stopping';

export class TrainController {
  private current: ControlState = 'running';
  private wake: (() => void) | null = null;
  private evaluationCancel = false;

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

  /** Ends the evaluation in progress (training goes on); no effect when none runs. */
  cancelEvaluation(): void {
    this.evaluationCancel = true;
  }

  /** Whether cancelEvaluation was called since the last time this was asked (the loop asks once per batch). */
  takeEvaluationCancel(): boolean {
    const c = this.evaluationCancel;
    this.evaluationCancel = false;
    return c;
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
