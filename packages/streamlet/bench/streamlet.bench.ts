// npx nx run streamlet:bench
// Streamlet under synchrony for n in {4, 16, 64}, echo on and off: wall time,
// messages and bytes per finalized block, and finalization latency in views
// (proposal to finalization, averaged over honest replicas). Simulated
// signatures (the bench measures the protocol, not Ed25519). Last line: JSON.
import { simulate, synchronous } from '@bftx/sim';
import { defaultRules, streamlet } from '../src/index';

const DELTA = 50;
// The protocol's own view length (2 delta + 1 ms since issue 15; this said 2 delta).
const VIEW = defaultRules.viewLength(DELTA);
const sizes = (process.env.BENCH_SIZES ?? '4,16,64').split(',').map(Number);

interface Row {
  n: number;
  echo: boolean;
  views: number;
  finalized: number;
  wall_ms_per_block: number;
  messages_per_block: number;
  bytes_per_block: number;
  latency_views: number;
}

const rows: Row[] = [];
for (const n of sizes) {
  for (const echo of [true, false]) {
    const views = n >= 64 ? (echo ? 6 : 12) : 24;
    const t0 = performance.now();
    const r = simulate({ protocol: streamlet({ echo }), n, seed: 1, network: synchronous(DELTA), timing: { delta: DELTA }, duration: views * VIEW + DELTA, traceKinds: ['propose', 'finalize'], transactions: { every: 10, perBatch: 1 } });
    const wall = performance.now() - t0;
    const proposedAt = new Map<string, number>();
    for (const e of r.trace) if (e.ev === 'propose') proposedAt.set(e.block as string, e.t);
    const delays: number[] = [];
    for (const e of r.trace) if (e.ev === 'finalize' && e.honest && proposedAt.has(e.block as string)) delays.push((e.t - proposedAt.get(e.block as string)!) / VIEW);
    const finalized = r.honestFinalizedHeight;
    rows.push({
      n,
      echo,
      views,
      finalized,
      wall_ms_per_block: Number((wall / Math.max(1, finalized)).toFixed(2)),
      messages_per_block: Math.round(r.messages / Math.max(1, finalized)),
      bytes_per_block: Math.round(r.bytes / Math.max(1, finalized)),
      latency_views: Number((delays.reduce((a, b) => a + b, 0) / Math.max(1, delays.length)).toFixed(2)),
    });
    const x = rows[rows.length - 1]!;
    console.log(
      `n=${String(n).padStart(2)} echo=${echo ? 'on ' : 'off'} views=${views}: ${finalized} blocks final; ${x.wall_ms_per_block} ms wall, ${x.messages_per_block} messages, ${x.bytes_per_block} bytes per block; latency ${x.latency_views} views`,
    );
  }
}
const growth = (echo: boolean) => {
  const a = rows.find((r) => r.n === sizes[0] && r.echo === echo);
  const b = rows.find((r) => r.n === sizes[sizes.length - 1] && r.echo === echo);
  return a && b ? Number((Math.log(b.messages_per_block / a.messages_per_block) / Math.log(b.n / a.n)).toFixed(2)) : null;
};
console.log(`messages per block grow as n^${growth(true)} with echo, n^${growth(false)} without`);
console.log(JSON.stringify({ suite: 'streamlet', delta_ms: DELTA, message_growth_exponent_echo: growth(true), message_growth_exponent_no_echo: growth(false), runs: rows }));
