// npx nx run hotstuff:bench
// Chained HotStuff under synchrony for n in {4, 16, 64}: wall time, messages and bytes per
// committed block, and commit latency (ms from proposal, and views). Simulated signatures (the
// bench measures the protocol, not Ed25519). Last line: JSON.
import { simulate, synchronous } from '@bftx/sim';
import { hotstuff } from '../src/index';

const DELTA = 50;
const sizes = (process.env.BENCH_SIZES ?? '4,16,64').split(',').map(Number);

const rows = sizes.map((n) => {
  const duration = 40 * 2 * DELTA;
  const t0 = performance.now();
  const r = simulate({ protocol: hotstuff(), n, seed: 1, network: synchronous(DELTA), timing: { delta: DELTA }, duration, trace: false, transactions: { every: 10, perBatch: 1 } });
  const wall = performance.now() - t0;
  const blocks = Math.max(1, r.honestFinalizedHeight);
  const row = {
    n,
    committed: r.honestFinalizedHeight,
    wall_ms_per_block: Number((wall / blocks).toFixed(2)),
    messages_per_block: Math.round(r.messages / blocks),
    bytes_per_block: Math.round(r.bytes / blocks),
    latency_ms_p50: r.latency.ms.p50,
    latency_views_p50: r.latency.views.p50,
  };
  console.log(`n=${String(n).padStart(2)}: ${row.committed} blocks committed in ${duration} ms virtual; ${row.wall_ms_per_block} ms wall, ${row.messages_per_block} messages, ${row.bytes_per_block} bytes per block; latency p50 ${row.latency_ms_p50} ms, ${row.latency_views_p50} views`);
  return row;
});
const first = rows[0]!;
const last = rows[rows.length - 1]!;
const growth = Number((Math.log(last.messages_per_block / first.messages_per_block) / Math.log(last.n / first.n)).toFixed(2));
console.log(`messages per block grow as n^${growth}`);
console.log(JSON.stringify({ suite: 'hotstuff', delta_ms: DELTA, message_growth_exponent: growth, runs: rows }));
