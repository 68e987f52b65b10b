import { useStudio } from '../store/store';
import { selectDevice, selectRunSelfTest, selectSelfTest } from '../store/selectors';
import type { Capabilities } from '../../engine/device';

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

/** The first screen: what this GPU can do, and a kernel self-test against the CPU reference. */
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
        {r && (
          <p className={r.passed ? 'ok' : 'error'}>
            {r.passed ? 'passed' : 'failed'}: matmul on {r.cases.length} shapes, max error {r.maxAbsError.toExponential(2)} (tolerance {r.tolerance}), GPU time {r.gpuMs.toFixed(1)} ms
          </p>
        )}
        {selfTest.error && (
          <p className="error">
            <code>{selfTest.error.code}</code> {selfTest.error.message} {selfTest.error.hint}
          </p>
        )}
      </div>
    </section>
  );
}
