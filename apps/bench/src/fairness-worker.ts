// A worker process of the fairness bench (fairness.ts forks several, one per core): takes
// { id, job, settings } messages, answers { id, figures } or { id, error }.
import type { MatrixJob } from './fairness-matrix';
import { runOne, type RunSettings } from './fairness-run';

export interface WorkerRequest {
  readonly id: number;
  readonly job: MatrixJob;
  readonly settings: RunSettings;
}

process.on('message', (m: WorkerRequest) => {
  let reply: object;
  try {
    reply = { id: m.id, figures: runOne(m.job, m.settings) };
  } catch (e) {
    reply = { id: m.id, error: e instanceof Error ? (e.stack ?? e.message) : String(e) };
  }
  process.send!(reply);
});
process.on('disconnect', () => process.exit(0));
