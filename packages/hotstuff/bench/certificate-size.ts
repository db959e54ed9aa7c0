// node --conditions=@bftx/source --import tsx packages/hotstuff/bench/certificate-size.ts
// Commit certificate sizes in bytes at n = 4 and n = 64 (BENCH_SIZES to change): largest and mean
// over every commit output of the honest replicas of a short synchronous run with client load, and
// the commits without one (checkCertificates: each one read and verified). Simulated signatures are 64 bytes, like Ed25519's. Last line: JSON.
import { simulate, synchronous } from '@bftx/sim';
import { hotstuff } from '../src/index';

const DELTA = 50;
const sizes = (process.env.BENCH_SIZES ?? '4,64').split(',').map(Number);
const rows = sizes.map((n) => {
  const r = simulate({ protocol: hotstuff(), n, seed: 1, network: synchronous(DELTA), timing: { delta: DELTA }, duration: 30 * 2 * DELTA, trace: false, checkCertificates: true, transactions: { every: 10, perBatch: 1 } });
  const honest = r.replicas.filter((x) => x.honest).map((x) => x.certificates);
  const count = honest.reduce((a, c) => a + c.count, 0);
  const row = { n, commits: count, without_certificate: honest.reduce((a, c) => a + c.missing, 0), max_bytes: Math.max(...honest.map((c) => c.maxBytes)), mean_bytes: Math.round(honest.reduce((a, c) => a + c.totalBytes, 0) / Math.max(1, count)) };
  console.log(`n=${String(n).padStart(2)}: ${row.commits} commit outputs with a certificate (${row.without_certificate} without), largest ${row.max_bytes} bytes, mean ${row.mean_bytes}`);
  return row;
});
console.log(JSON.stringify({ suite: 'hotstuff certificate sizes', runs: rows }));
