// npx nx run bench:consensus
// The three protocols side by side on one workload: n in {4, 16, 64}, the protocols told delta = 50
// ms and every message taking exactly 40 ms (so latency in message delays is latency in ms / 40; a
// delay of exactly delta would tie with Streamlet's view boundaries), one client transaction every
// 10 ms, simulated signatures (the protocols are measured, not Ed25519).
// Streamlet runs with echo (the paper's protocol) and without. Last line: JSON.
import { simulate, synchronous } from '@bftx/sim';
import { streamlet } from '@bftx/streamlet';
import Table from 'cli-table3';
import { PROTOCOL_NAMES, protocolByName } from './protocols';

const DELTA = 50;
const HOP = 40;
const sizes = (process.env.BENCH_SIZES ?? '4,16,64').split(',').map(Number);
const variants = [...PROTOCOL_NAMES.map((name) => ({ name: name as string, protocol: protocolByName(name) })), { name: 'streamlet-no-echo', protocol: streamlet({ echo: false }) }];

interface Row {
  protocol: string;
  n: number;
  finalized: number;
  latency_delays_p50: number;
  latency_ms_p50: number;
  messages_per_block: number;
  bytes_per_block: number;
  wall_ms_per_block: number;
}

const rows: Row[] = [];
for (const n of sizes) {
  for (const { name, protocol } of variants) {
    // Echoed Streamlet at n = 64 sends ~300k messages per block: a shorter run measures it as well.
    const duration = (name === 'streamlet' && n >= 64 ? 8 : 30) * 2 * DELTA;
    const t0 = performance.now();
    const r = simulate({ protocol, n, seed: 1, network: synchronous(HOP, HOP), timing: { delta: DELTA }, duration, trace: false, transactions: { every: 10, perBatch: 1 } });
    const wall = performance.now() - t0;
    const blocks = Math.max(1, r.honestFinalizedHeight);
    rows.push({
      protocol: name,
      n,
      finalized: r.honestFinalizedHeight,
      latency_delays_p50: Number((r.latency.ms.p50 / HOP).toFixed(2)),
      latency_ms_p50: r.latency.ms.p50,
      messages_per_block: Math.round(r.messages / blocks),
      bytes_per_block: Math.round(r.bytes / blocks),
      wall_ms_per_block: Number((wall / blocks).toFixed(2)),
    });
    process.stderr.write(`.`);
  }
}
process.stderr.write('\n');

const table = new Table({ head: ['protocol', 'n', 'final blocks', 'latency p50 (delays)', 'latency p50 (ms)', 'messages/block', 'bytes/block', 'wall ms/block'] });
for (const r of rows) table.push([r.protocol, r.n, r.finalized, r.latency_delays_p50, r.latency_ms_p50, r.messages_per_block.toLocaleString('en-US'), r.bytes_per_block.toLocaleString('en-US'), r.wall_ms_per_block]);
console.log(table.toString());

/** Slope of log(messages per block) against log(n): 1 is linear, 2 quadratic. */
const growth = Object.fromEntries(
  variants.map(({ name }) => {
    const mine = rows.filter((r) => r.protocol === name);
    const a = mine[0]!;
    const b = mine[mine.length - 1]!;
    return [name, mine.length < 2 ? null : Number((Math.log(b.messages_per_block / a.messages_per_block) / Math.log(b.n / a.n)).toFixed(2))];
  }),
);
console.log(`messages per block grow as n^x with x = ${Object.entries(growth).map(([k, v]) => `${k} ${v}`).join(', ')}`);
console.log(JSON.stringify({ suite: 'consensus', delta_ms: DELTA, message_delay_ms: HOP, message_growth_exponent: growth, runs: rows }));
