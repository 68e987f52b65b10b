import { useEffect, useId, useState } from 'react';

interface Props {
  label: string;
  value: number | null;
  onChange: (v: number | null) => void;
  min?: number;
  max?: number;
  step?: number | 'any';
  integer?: boolean;
  /** an empty box means null ("as the base model") */
  nullable?: boolean;
  placeholder?: string;
  help?: string;
  name?: string;
  disabled?: boolean;
}

/**
 * A number input that lets the user type freely ("0.", "-") and passes on only valid numbers; an
 * invalid entry is marked and explained instead of being reset.
 */
export function NumberField({ label, value, onChange, min, max, step = 'any', integer, nullable, placeholder, help, name, disabled }: Props) {
  const id = useId();
  const [text, setText] = useState(value === null ? '' : String(value));
  const [problem, setProblem] = useState<string | null>(null);
  // follow outside changes (a preset, a restored session) unless the box already shows that value
  useEffect(() => {
    setText((t) => (t.trim() !== '' && Number(t) === value) || (t.trim() === '' && value === null) ? t : value === null ? '' : String(value));
    setProblem(null);
  }, [value]);
  const commit = (t: string) => {
    setText(t);
    if (t.trim() === '') {
      if (nullable) {
        setProblem(null);
        onChange(null);
      } else setProblem('enter a number');
      return;
    }
    const v = Number(t);
    if (!Number.isFinite(v)) return setProblem('not a number');
    if (integer && !Number.isInteger(v)) return setProblem('use a whole number');
    if (min !== undefined && v < min) return setProblem(`at least ${min}`);
    if (max !== undefined && v > max) return setProblem(`at most ${max}`);
    setProblem(null);
    onChange(v);
  };
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        name={name}
        type="number"
        inputMode="decimal"
        value={text}
        min={min}
        max={max}
        step={step}
        placeholder={placeholder}
        disabled={disabled}
        aria-invalid={problem ? true : undefined}
        aria-describedby={help || problem ? `${id}-help` : undefined}
        onChange={(e) => commit(e.target.value)}
      />
      {(help || problem) && (
        <small id={`${id}-help`} className={problem ? 'error' : 'muted'}>
          {problem ? `${label}: ${problem}` : help}
        </small>
      )}
    </div>
  );
}
