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
import { GENESIS, makeBlock, ValidatorSet, type Block } from '@bftx/consensus';
import { createSignatureScheme } from '@bftx/crypto';
import { DEFAULT_CLUSTER, DEFAULT_MAX_ORDER_LIFETIME, expiryFrom, placeAction, replicatedExchange, signOrder, type ExchangeConfig, type ReplicatedExchange } from '@bftx/exchange';
import { hotstuff } from '@bftx/hotstuff';
import { VerifyPool } from '../src/index';

const ORDERS = Number(process.env['BFTX_EXECUTE_ORDERS'] ?? 20_000);
const BLOCK_SIZES = (process.env['BFTX_EXECUTE_BLOCKS'] ?? '50,200,1000').split(',').map(Number);
const ACCOUNTS = 64;

const scheme = createSignatureScheme('node');
const clients = Array.from({ length: ACCOUNTS }, (_, i) => scheme.signer(Uint8Array.from({ length: 32 }, (_, k) => (i * 7 + k * 13 + 1) & 0xff)));
const config: ExchangeConfig = {
  assets: ['USD', 'BFT'],
  markets: [{ symbol: 'BFT-USD', base: 'BFT', quote: 'USD', tickSize: 1, lotSize: 1, maxOrderSize: 1_000_000 }],
  genesis: clients.map((c) => ({ account: c.publicKey, balances: { USD: 10n ** 12n, BFT: 10n ** 9n } })),
  cluster: DEFAULT_CLUSTER,
};
const validity = { cluster: DEFAULT_CLUSTER, expiresAt: expiryFrom(0, DEFAULT_MAX_ORDER_LIFETIME) };
const orders = Array.from({ length: ORDERS }, (_, k) => {
  const buy = k % 2 === 0;
  return signOrder(clients[k % ACCOUNTS]!, Math.floor(k / ACCOUNTS) + 1, placeAction({ symbol: 'BFT-USD', clientId: k + 1, side: buy ? 'buy' : 'sell', price: buy ? 1_000 : 999, size: 1, tif: buy ? 'GTC' : 'IOC' }), validity);
});

const pool = new VerifyPool(scheme, { workers: 1 });
const validatorSecret = new Uint8Array(32).fill(1);
const validators = new ValidatorSet([scheme.publicKey(validatorSecret)]);

/** A fresh replica's exchange, checking client signatures with the pool's scheme (no rate limit: one account sends many here). */
function freshReplica(): ReplicatedExchange<unknown> {
  const def = replicatedExchange(hotstuff(), { exchange: config, clientScheme: pool.scheme, admissionRate: { perSecond: 1e12, burst: 1e12 } });
  return def.create({ self: 0, validators, scheme, signer: scheme.signer(validatorSecret), timing: { delta: 50 } }) as unknown as ReplicatedExchange<unknown>;
}

async function run(blockSize: number): Promise<{ blockSize: number; admitUs: number; executeUs: number; executed: number }> {
  const replica = freshReplica();
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
