// One replica's ingest: client orders admitted per second (decode, signature, can-execute checks,
// rate buckets: what `POST /v1/transactions` does before the mempool) with the signature checks on
// 0 (the event loop itself), 1, 2, ... W worker threads. No network and no consensus: this is the
// part of a replica that the verify pool scales, measured alone, so scaling shows on any machine.
//
//   npx nx run node:bench-ingest
//   BFTX_INGEST_WORKERS=0,1,2,4,8,15 BFTX_INGEST_ORDERS=65536 npx nx run node:bench-ingest
//
// Prints per worker count: admitted orders/s, the ratio to one worker's rate, the event loop's busy
// share (what the one thread left does per order); the last line is a JSON summary.
import { availableParallelism } from 'node:os';
import { placeAction, signOrder, type ReplicatedExchange } from '@bftx/exchange';
import { VerifyPool, type VerifyJob } from '../src/index';
import { benchClients, benchExchange, freshReplica, scheme, SYMBOL, validity } from './fixture';

const cores = availableParallelism();
const WORKERS = process.env['BFTX_INGEST_WORKERS']?.split(',').map(Number) ?? [...new Set([0, 1, 2, Math.max(1, cores - 1), cores])].sort((a, b) => a - b);
const ORDERS = Number(process.env['BFTX_INGEST_ORDERS'] ?? 32_768);
/** Orders per submission (as a client API request carries them) and submissions in flight at once. */
const BATCH = 64;
const IN_FLIGHT = Number(process.env['BFTX_INGEST_IN_FLIGHT'] ?? 4 * Math.max(...WORKERS, 1));
const ACCOUNTS = 512;

function line(label: string, value: string): void {
  console.log(`${label.padEnd(44)} ${value}`);
}

const clients = benchClients(ACCOUNTS);
const exchange = benchExchange(clients);
const orders = Array.from({ length: ORDERS }, (_, k) => signOrder(clients[k % ACCOUNTS]!, Math.floor(k / ACCOUNTS) + 1, placeAction({ symbol: SYMBOL, clientId: k + 1, side: k % 2 ? 'sell' : 'buy', price: 100 + (k % 50), size: 1 }), validity));
const warm = Array.from({ length: 2_048 }, (_, k) => signOrder(clients[k % ACCOUNTS]!, 1_000_000 + k, placeAction({ symbol: SYMBOL, clientId: 1_000_000 + k, side: 'buy', price: 100, size: 1 }), validity));
/** Admits `txs` as the client API does: signatures on the pool first, then each admitted in order. */
async function submit(pool: VerifyPool, replica: ReplicatedExchange<unknown>, txs: Uint8Array[]): Promise<number> {
  if (pool.workers > 0) {
    const jobs: VerifyJob[] = [];
    for (const tx of txs) {
      const job = replica.exchange.signatureCheckOf(tx);
      if (job !== undefined) jobs.push(job);
    }
    await pool.check(jobs);
  }
  let ok = 0;
  for (const tx of txs) if (replica.admit(tx, 0).ok) ok++;
  return ok;
}

async function run(workers: number): Promise<{ workers: number; perS: number; loopBusy: number; admitted: number }> {
  const pool = new VerifyPool(scheme, { workers });
  const replica = freshReplica(exchange, pool.scheme);
  // Warm the workers and the code paths on orders of their own (not counted, not reused).
  for (let k = 0; k < warm.length; k += BATCH) await submit(pool, replica, warm.slice(k, k + BATCH));
  let next = 0;
  let admitted = 0;
  const elu0 = performance.eventLoopUtilization();
  const began = performance.now();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      while (next < orders.length) {
        const batch = orders.slice(next, next + BATCH);
        next += BATCH;
        const ok = await submit(pool, replica, batch);
        admitted += ok;
      }
    }),
  );
  const seconds = (performance.now() - began) / 1000;
  const elu = performance.eventLoopUtilization(elu0);
  await pool.close();
  return { workers, perS: Math.round(admitted / seconds), loopBusy: Math.round(elu.utilization * 100) / 100, admitted };
}

line('cores', String(cores));
line('orders per run', `${ORDERS} (${BATCH} per submission, ${IN_FLIGHT} in flight)`);
const results = [];
for (const w of WORKERS) {
  // Twice, the better kept: a noisy machine's dips are not the code's.
  const a = await run(w);
  const b = await run(w);
  const r = a.perS >= b.perS ? a : b;
  if (r.admitted !== ORDERS) throw new Error(`${r.admitted} of ${ORDERS} orders admitted with ${w} workers`);
  results.push(r);
}
const one = results.find((r) => r.workers === 1)?.perS;
for (const r of results) {
  const scaling = one !== undefined && r.workers > 0 ? Math.round((r.perS / one) * 100) / 100 : undefined;
  line(`ingest, ${r.workers === 0 ? 'on the event loop' : `${r.workers} worker${r.workers > 1 ? 's' : ''}`}`, `${r.perS} orders/s${scaling !== undefined ? `, ${scaling}x one worker (${Math.round((scaling / r.workers) * 100) / 100} per worker)` : ''}, event loop ${Math.round(r.loopBusy * 100)}% busy`);
}
console.log(JSON.stringify({ suite: 'node-ingest', cores, orders: ORDERS, batch: BATCH, inFlight: IN_FLIGHT, runs: results.map((r) => ({ workers: r.workers, perS: r.perS, loopBusy: r.loopBusy, scalingVsOne: one !== undefined && r.workers > 0 ? Math.round((r.perS / one) * 100) / 100 : null })) }));
