/** A labelled progress bar; indeterminate when the total is unknown. */
export function ProgressBar({ label, value, max, testId }: { label: string; value: number | null; max: number | null; testId?: string }) {
  const known = value !== null && max !== null && max > 0;
  return (
    <div className="progress" data-testid={testId}>
      <span className="progress-label">{label}</span>
      {known ? <progress value={Math.min(value, max)} max={max} aria-label={label} /> : <progress aria-label={label} />}
      {known && <span className="progress-pct">{Math.floor((100 * Math.min(value, max)) / max)}%</span>}
    </div>
  );
}
