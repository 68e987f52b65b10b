import type { WorkerErrorInfo } from '../../../workers/api';

const DEFAULT_HINT = 'Reload the page and try again; if it happens again, report it with the browser console’s output.';

function sentence(text: string): string {
  const t = text.trim();
  if (!t) return t;
  const first = t[0]!.toUpperCase() + t.slice(1);
  return /[.!?…]$/.test(first) ? first : `${first}.`;
}

/** An error as a sentence and a fix ("what happened. What to do."), with its code for reports. */
export function ErrorNote({ error, testId }: { error: WorkerErrorInfo | null; testId?: string }) {
  if (!error) return null;
  return (
    <div className="error-note" role="alert" data-testid={testId} data-error-code={error.code}>
      <p>
        <strong>{sentence(error.message)}</strong> <span className="error-code">({error.code})</span>
      </p>
      <p>{sentence(error.hint || DEFAULT_HINT)}</p>
    </div>
  );
}
