// A replica's per-order work on its event loop outside consensus and the network: admission (decode,
// the signature check named for the verify worker, can-execute checks, rate bucket) and execution
// of the finalized block (matching, receipts and their Merkle root, the state root), with the
// signatures checked on one verify worker as the pool does. Prints µs per order for a few block
// sizes (the best of 3 runs each); last line a JSON summary.
//
//   npx nx run node:bench-execute
//   BFTX_EXECUTE_ORDERS=40000 BFTX_EXECUTE_BLOCKS=100,500 npx nx run node:bench-execute
//
// The orders are the load generator's: resting bids and immediate-or-cancel sells that trade
// against them, from 64 funded accounts.
import { GENESIS, makeBlock, type Block } from '@bftx/consensus';
import { placeAction, signOrder } from '@bftx/exchange';
import { VerifyPool } from '../src/index';
import { benchClients, benchExchange, freshReplica, scheme, SYMBOL, validity } from './fixture';

const ORDERS = Number(process.env['BFTX_EXECUTE_ORDERS'] ?? 20_000);
const BLOCK_SIZES = (process.env['BFTX_EXECUTE_BLOCKS'] ?? '50,200,1000').split(',').map(Number);
const ACCOUNTS = 64;

const clients = benchClients(ACCOUNTS);
const config = benchExchange(clients);
const orders = Array.from({ length: ORDERS }, (_, k) => {
  const buy = k % 2 === 0;
  return signOrder(clients[k % ACCOUNTS]!, Math.floor(k / ACCOUNTS) + 1, placeAction({ symbol: SYMBOL, clientId: k + 1, side: buy ? 'buy' : 'sell', price: buy ? 1_000 : 999, size: 1, tif: buy ? 'GTC' : 'IOC' }), validity);
});
const pool = new VerifyPool(scheme, { workers: 1 });

async function run(blockSize: number): Promise<{ blockSize: number; admitUs: number; executeUs: number; executed: number }> {
  const replica = freshReplica(config, pool.scheme);
  // The blocks as consensus hands them over (made outside the timed parts).
  const blocks: Block[] = [];
  let parent = GENESIS;
  for (let at = 0; at < orders.length; at += blockSize) blocks.push((parent = makeBlock({ parent: parent.hash, height: parent.height + 1, view: parent.height + 1, proposer: 0, payload: orders.slice(at, at + blockSize) })));
  let admitMs = 0;
  let executeMs = 0;
  let executed = 0;
  replica.onBlock((r) => {
    for (const receipt of r.receipts) if (receipt.status === 'executed') executed++;
  });
  for (const block of blocks) {
    // Admission as the API does it: decode and name the signature check (event loop), the check on
    // the worker (not timed: the event loop is free meanwhile), then admit each.
    let t = performance.now();
    const jobs = block.payload.map((tx) => replica.exchange.signatureCheckOf(tx)).filter((j) => j !== undefined);
    admitMs += performance.now() - t;
    await pool.check(jobs);
    t = performance.now();
    for (const tx of block.payload) if (!replica.admit(tx, 0).ok) throw new Error('an order was refused admission: the bench is wrong');
    const t1 = performance.now();
    replica.applyFinalized([block], 0);
    executeMs += performance.now() - t1;
    admitMs += t1 - t;
  }
  const per = (ms: number) => Math.round(((ms * 1000) / orders.length) * 10) / 10;
  return { blockSize, admitUs: per(admitMs), executeUs: per(executeMs), executed };
}

const results = [];
for (const size of BLOCK_SIZES) {
  await run(size); // warm the code paths
  const runs = [await run(size), await run(size), await run(size)];
  const best = runs.sort((a, b) => a.admitUs + a.executeUs - (b.admitUs + b.executeUs))[0]!;
  if (best.executed !== orders.length) throw new Error(`only ${best.executed} of ${orders.length} orders executed: the bench's orders are wrong`);
  results.push(best);
  const total = best.admitUs + best.executeUs;
  console.log(`${`blocks of ${size}`.padEnd(16)} admit ${best.admitUs} µs + execute ${best.executeUs} µs = ${Math.round(total * 10) / 10} µs an order on the event loop (best of 3): ${Math.round(1e6 / total)} orders/s on one thread`);
}
await pool.close();
console.log(JSON.stringify({ suite: 'node-execute', orders: ORDERS, accounts: ACCOUNTS, runs: results }));
