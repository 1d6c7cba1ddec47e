// Admin: fleet rollouts, newest first (started with the API or `caelus rollout`).
import { get } from '../api';
import { ErrorNote, Tag, useLoad } from '../components/ui';
import { time } from '../format';
import type { RolloutList } from '../types';

export function RolloutsPage() {
  const list = useLoad(() => get<RolloutList>('/rollouts?limit=50'), []);
  return (
    <>
      <h1>Rollouts</h1>
      <ErrorNote error={list.error} />
      {list.data && list.data.items.length === 0 && <p>No fleet rollouts yet. Start one with POST /rollouts (see the README).</p>}
      {list.data && list.data.items.length > 0 && (
        <table className="table">
          <thead>
            <tr>
              <th scope="col">Template</th>
              <th scope="col">Target</th>
              <th scope="col">State</th>
              <th scope="col">Wave</th>
              <th scope="col">Instances</th>
              <th scope="col">Started</th>
              <th scope="col">Message</th>
            </tr>
          </thead>
          <tbody>
            {list.data.items.map((r) => (
              <tr key={r.id}>
                <td>{r.template.name}</td>
                <td>{r.targetVersion.version}</td>
                <td>
                  <Tag tone={r.state === 'Succeeded' ? 'ok' : r.state === 'Failed' || r.state === 'RolledBack' ? 'bad' : 'info'}>{r.state}</Tag>
                </td>
                <td>
                  {r.currentWave} / {r.waveCount}
                </td>
                <td>
                  {r.total} ({Object.entries(r.counts).filter(([, n]) => n > 0).map(([s, n]) => `${s} ${n}`).join(', ')})
                </td>
                <td>{time(r.createdAt)}</td>
                <td>{r.message ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
