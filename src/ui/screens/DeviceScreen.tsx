import { useStudio } from '../store/store';
import { selectDevice, selectRunSelfTest, selectSelfTest } from '../store/selectors';
import type { Capabilities } from '../../engine/device';
import type { SelfTestCase, SelfTestKernel, SelfTestResult } from '../../../workers/api';

function formatLimit(name: string, value: number): string {
  if (!/Size$/.test(name) || value < 1024) return String(value);
  return value >= 2 ** 20 ? `${(value / 2 ** 20).toFixed(0)} MiB` : `${(value / 2 ** 10).toFixed(0)} KiB`;
}

function CapabilityTable({ caps }: { caps: Capabilities }) {
  return (
    <table className="caps" data-testid="capabilities">
      <tbody>
        <tr>
          <th>Adapter</th>
          <td data-testid="adapter">{caps.adapter.description}</td>
        </tr>
        <tr>
          <th>Kind</th>
          <td>{caps.isSoftware ? 'software renderer (fine for tests, far too slow to train)' : 'hardware GPU'}</td>
        </tr>
        {Object.entries(caps.features).map(([k, v]) => (
          <tr key={k}>
            <th>{k}</th>
            <td data-feature={k} data-value={String(v)}>
              {v ? 'yes' : 'no'}
            </td>
          </tr>
        ))}
        {Object.entries(caps.limits).map(([k, v]) => (
          <tr key={k}>
            <th>{k}</th>
            <td>{formatLimit(k, v)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

const KERNEL_NAMES: Record<SelfTestKernel, string> = { matmul: 'matmul', attention: 'attention', crossentropy: 'cross entropy' };

interface KernelSummary {
  kernel: SelfTestKernel;
  passed: number;
  total: number;
  maxAbsError: number;
}

/** Checks per kernel, in the order the self-test ran them. */
function summarizeByKernel(cases: readonly SelfTestCase[]): KernelSummary[] {
  const byKernel = new Map<SelfTestKernel, KernelSummary>();
  for (const c of cases) {
    const s = byKernel.get(c.kernel) ?? { kernel: c.kernel, passed: 0, total: 0, maxAbsError: 0 };
    s.total++;
    if (c.passed) s.passed++;
    s.maxAbsError = Math.max(s.maxAbsError, c.maxAbsError);
    byKernel.set(c.kernel, s);
  }
  return [...byKernel.values()];
}

const formatError = (x: number) => (x === 0 ? '0' : x.toExponential(1));
const formatTolerance = (c: SelfTestCase) => `atol ${c.tolerance.atol.toExponential(0)}${c.tolerance.rtol ? `, rtol ${c.tolerance.rtol.toExponential(0)}` : ''}`;

function SelfTestSummary({ result }: { result: SelfTestResult }) {
  const passedCount = result.cases.filter((c) => c.passed).length;
  const failed = result.cases.filter((c) => !c.passed);
  return (
    <>
      <p className={result.passed ? 'ok' : 'error'}>
        {result.passed ? 'passed' : 'failed'}: {passedCount} of {result.cases.length} checks match the CPU reference, GPU time {result.gpuMs.toFixed(1)} ms
      </p>
      <ul className="selftest-kernels" data-testid="selftest-kernels">
        {summarizeByKernel(result.cases).map((k) => (
          <li key={k.kernel} className={k.passed === k.total ? 'ok' : 'error'} data-kernel={k.kernel} data-passed={k.passed} data-total={k.total} data-max-error={k.maxAbsError}>
            {KERNEL_NAMES[k.kernel]} {k.passed}/{k.total} <span className="muted">max error {formatError(k.maxAbsError)}</span>
          </li>
        ))}
      </ul>
      {failed.map((c) => (
        <p key={c.label} className="error" data-failed-check={c.label}>
          {KERNEL_NAMES[c.kernel]} {c.label}: {c.message}
        </p>
      ))}
      <details>
        <summary>Every check</summary>
        <table className="caps selftest-cases">
          <tbody>
            {result.cases.map((c) => (
              <tr key={c.label} data-check={c.label} data-kernel={c.kernel} data-passed={String(c.passed)} data-max-error={c.maxAbsError}>
                <th>
                  {KERNEL_NAMES[c.kernel]} {c.label}
                </th>
                <td className={c.passed ? 'ok' : 'error'}>
                  {formatError(c.maxAbsError)} ({formatTolerance(c)})
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </details>
    </>
  );
}

/** The first screen: what this GPU can do, and the kernel self-test against the CPU references. */
export function DeviceScreen() {
  const device = useStudio(selectDevice);
  const selfTest = useStudio(selectSelfTest);
  const runSelfTest = useStudio(selectRunSelfTest);
  if (!device.caps) return null;
  const r = selfTest.result;
  return (
    <section className="card" data-testid="device-screen">
      <h2>Your GPU</h2>
      <CapabilityTable caps={device.caps} />
      <div className="selftest" data-testid="selftest" data-status={selfTest.status} data-max-error={r ? String(r.maxAbsError) : ''}>
        <button onClick={() => void runSelfTest()} disabled={selfTest.status === 'running'}>
          {selfTest.status === 'running' ? 'Running self-test…' : 'Run self-test'}
        </button>
        {r && <SelfTestSummary result={r} />}
        {selfTest.error && (
          <p className="error">
            <code>{selfTest.error.code}</code> {selfTest.error.message} {selfTest.error.hint}
          </p>
        )}
      </div>
    </section>
  );
}
