// agents:bench: the ABIDES RMSC04-sized day on the fast path and through a 4-replica
// simulated HotStuff cluster; the stylised facts of 1-minute returns over 20 seeds of the
// default day (issue 18's goals); and finalized signed orders per second through that
// cluster against the crypto bound (cores x single-core verify rate / n), measured in the
// same run. Last line: one JSON object with the figures.
//
//   npx nx run agents:bench
//   BFTX_BENCH_ORDERS=48000 npx nx run agents:bench   (a longer throughput run)
//   BFTX_BENCH_FACT_SEEDS=5 npx nx run agents:bench   (fewer seeds for the facts; 0 skips them)
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { SimulatedSignatureScheme } from '@bftx/consensus';
import { bytesEqual, createSignatureScheme, type DomainTag, type SignatureScheme } from '@bftx/crypto';
import { DEFAULT_CLUSTER, decodeTransaction, placeAction, replicatedExchange, signedBody, signOrder, type ExchangeConfig } from '@bftx/exchange';
import { hotstuff } from '@bftx/hotstuff';
import { startSimulation, synchronous } from '@bftx/sim';
import { rmsc04Session, runMarket, simulatedCluster } from '../src/index';
import { packItems, type VerifyItem, type VerifyJob } from './packed-items';

const N = 4;
/** The cluster day's network bound: about one block per 0.9 s of simulated time (measured below). */
const DAY_DELTA = 1_000;
const ORDERS = Number(process.env['BFTX_BENCH_ORDERS'] ?? 24_000);
/** Blocks a pre-signed order of the throughput run stays valid (the run's exchange allows it). */
const LIFETIME = 1_000_000;
const CHUNK = 1_000;
const ACCOUNTS = 256;

type Item = VerifyItem;

function line(label: string, value: string): void {
  console.log(`${label.padEnd(58)} ${value}`);
}

// ---- 1. the RMSC04 day, fast path and cluster ------------------------------------------------

function day() {
  const t0 = performance.now();
  const fast = runMarket(rmsc04Session(1));
  const fastMs = performance.now() - t0;
  line('RMSC04 day, fast path: wall time', `${(fastMs / 1000).toFixed(2)} s (${fast.orders.submitted} orders, ${fast.trades.length} trades)`);

  const t1 = performance.now();
  const cluster = runMarket(rmsc04Session(1, simulatedCluster({ protocol: hotstuff(), n: N, delta: DAY_DELTA, clientScheme: new SimulatedSignatureScheme() })));
  const clusterMs = performance.now() - t1;
  const rep = cluster.replication!;
  line(`RMSC04 day, ${N}-replica HotStuff cluster (delta ${DAY_DELTA} ms): wall time`, `${(clusterMs / 1000).toFixed(2)} s (${cluster.orders.submitted} orders, ${cluster.orders.executed} executed, ${cluster.trades.length} trades, ${rep.finalizedHeight} blocks, ${rep.simulation.messages} messages, state roots agree: ${rep.stateRootsAgree})`);
  if (!rep.stateRootsAgree) throw new Error('state roots disagree');
  return {
    fastPathSeconds: round(fastMs / 1000, 3),
    fastPathOrders: fast.orders.submitted,
    fastPathTrades: fast.trades.length,
    clusterSeconds: round(clusterMs / 1000, 3),
    clusterDelta: DAY_DELTA,
    clusterOrders: cluster.orders.submitted,
    clusterExecuted: cluster.orders.executed,
    clusterTrades: cluster.trades.length,
    clusterBlocks: rep.finalizedHeight,
  };
}

// ---- 2. stylised facts over seeds ------------------------------------------------------------

const FACT_SEEDS = Number(process.env['BFTX_BENCH_FACT_SEEDS'] ?? 20);
/** Issue 18's goals, on the means over seeds. */
const GOALS = { maxAbsReturnAutocorrelationLag1: 0.1, minExcessKurtosis: 1, absReturnLagsPositive: 5 };

interface Spread {
  mean: number;
  sd: number;
  min: number;
  max: number;
}

function spread(xs: readonly number[]): Spread {
  const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
  const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, x) => a + (x - mean) ** 2, 0) / (xs.length - 1)) : 0;
  return { mean: round(mean, 4), sd: round(sd, 4), min: round(Math.min(...xs), 4), max: round(Math.max(...xs), 4) };
}

function facts() {
  const t0 = performance.now();
  const runs = Array.from({ length: FACT_SEEDS }, (_, i) => runMarket(rmsc04Session(i + 1)).facts);
  const seconds = (performance.now() - t0) / 1000;
  const show = (x: Spread, digits = 2) => `mean ${x.mean.toFixed(digits)}, sd ${x.sd.toFixed(digits)}, range ${x.min.toFixed(digits)} to ${x.max.toFixed(digits)}`;
  const verdict = (ok: boolean) => (ok ? 'PASS' : 'FAIL');
  const ac1 = spread(runs.map((f) => f.returnAutocorrelationLag1));
  const kurtosis = spread(runs.map((f) => f.excessKurtosis.oneMinute));
  const abs = Array.from({ length: 10 }, (_, k) => spread(runs.map((f) => f.absReturnAutocorrelation[k]!)));
  let positiveThrough = 0;
  while (positiveThrough < abs.length && abs[positiveThrough]!.mean > 0) positiveThrough++;
  const ac1Pass = Math.abs(ac1.mean) < GOALS.maxAbsReturnAutocorrelationLag1;
  const kurtosisPass = kurtosis.mean > GOALS.minExcessKurtosis;
  const clusteringPass = positiveThrough >= GOALS.absReturnLagsPositive;
  const seedsWithin = runs.filter((f) => Math.abs(f.returnAutocorrelationLag1) < GOALS.maxAbsReturnAutocorrelationLag1).length;
  const samples = runs[0]?.samples.oneMinute ?? 0;
  line(`stylised facts, ${FACT_SEEDS} seeds of the RMSC04 day (${samples} 1-min returns each)`, `${seconds.toFixed(2)} s`);
  line(`  lag-1 autocorrelation of 1-min returns (goal |mean| < ${GOALS.maxAbsReturnAutocorrelationLag1})`, `${show(ac1)}; ${seedsWithin}/${FACT_SEEDS} seeds within: ${verdict(ac1Pass)}`);
  line(`  excess kurtosis of 1-min returns (goal mean > ${GOALS.minExcessKurtosis})`, `${show(kurtosis)}: ${verdict(kurtosisPass)}`);
  line(`  autocorrelation of |1-min returns|, lags 1-10 (goal: mean > 0 at lags 1-${GOALS.absReturnLagsPositive})`, `${abs.map((x) => x.mean.toFixed(2)).join(' ')}; positive through lag ${positiveThrough}: ${verdict(clusteringPass)}`);
  line('    ... sd over seeds by lag', abs.map((x) => x.sd.toFixed(2)).join(' '));
  return {
    seeds: FACT_SEEDS,
    oneMinuteReturnsPerSeed: samples,
    seconds: round(seconds, 3),
    returnAutocorrelationLag1: { ...ac1, goal: `|mean| < ${GOALS.maxAbsReturnAutocorrelationLag1}`, seedsWithin, pass: ac1Pass },
    excessKurtosisOneMinute: { ...kurtosis, goal: `mean > ${GOALS.minExcessKurtosis}`, pass: kurtosisPass },
    absReturnAutocorrelation: { meanByLag: abs.map((x) => x.mean), sdByLag: abs.map((x) => x.sd), positiveThroughLag: positiveThrough, goal: `mean > 0 at lags 1-${GOALS.absReturnLagsPositive}`, pass: clusteringPass },
    pass: ac1Pass && kurtosisPass && clusteringPass,
  };
}

// ---- 3. finalized signed orders per second --------------------------------------------------

/** Worker threads verifying client signatures, one job (a chunk, for one replica) at a time each. */
class VerifierPool {
  private readonly workers: Worker[];
  private readonly waiting = new Map<number, (verdicts: Uint8Array) => void>();
  private nextId = 0;
  private nextWorker = 0;

  constructor(threads: number) {
    this.workers = Array.from({ length: threads }, () => {
      const w = new Worker(new URL('./ts-worker.mjs', import.meta.url), { workerData: { module: new URL('./verify-worker.ts', import.meta.url).href } });
      w.on('message', (m: { id: number; verdicts: Uint8Array }) => {
        this.waiting.get(m.id)!(m.verdicts);
        this.waiting.delete(m.id);
      });
      return w;
    });
  }

  /** Verifies `count` packed items (shared memory: many jobs may read one packing). */
  verify(packed: Uint8Array, count: number): Promise<Uint8Array> {
    const id = this.nextId++;
    const w = this.workers[this.nextWorker++ % this.workers.length]!;
    return new Promise((resolve) => {
      this.waiting.set(id, resolve);
      w.postMessage({ id, packed, count } satisfies VerifyJob);
    });
  }

  close(): Promise<number[]> {
    return Promise.all(this.workers.map((w) => w.terminate()));
  }
}

/**
 * One replica's client-signature scheme: verdicts its worker-pool jobs computed (each
 * replica's own jobs: n verifications per order in all), taken once each; anything not
 * prefetched is verified here, synchronously, and counted.
 */
class PrefetchedScheme implements SignatureScheme {
  readonly backend: string;
  private readonly verdicts = new Map<string, Array<{ item: Item; ok: boolean }>>();
  fallbacks = 0;
  prefetched = 0;

  constructor(private readonly inner: SignatureScheme) {
    this.backend = `${inner.backend}+pool`;
  }

  install(items: readonly Item[], verdicts: Uint8Array): void {
    items.forEach((item, i) => {
      const k = sigKey(item.signature);
      const list = this.verdicts.get(k);
      const entry = { item, ok: verdicts[i] === 1 };
      if (list === undefined) this.verdicts.set(k, [entry]);
      else list.push(entry);
    });
  }

  publicKey(secretKey: Uint8Array): Uint8Array {
    return this.inner.publicKey(secretKey);
  }

  signer(secretKey: Uint8Array) {
    return this.inner.signer(secretKey);
  }

  verify(publicKey: Uint8Array, domain: DomainTag, payload: Uint8Array, signature: Uint8Array): boolean {
    const k = sigKey(signature);
    const list = this.verdicts.get(k);
    const i = list?.findIndex((e) => e.item.domain === domain && bytesEqual(e.item.signature, signature) && bytesEqual(e.item.publicKey, publicKey) && bytesEqual(e.item.payload, payload)) ?? -1;
    if (i >= 0) {
      const { ok } = list![i]!;
      list!.splice(i, 1);
      if (list!.length === 0) this.verdicts.delete(k);
      this.prefetched++;
      return ok;
    }
    this.fallbacks++;
    return this.inner.verify(publicKey, domain, payload, signature);
  }
}

function sigKey(signature: Uint8Array): string {
  return String.fromCharCode.apply(null, signature.subarray(0, 16) as unknown as number[]);
}

/** Signed orders from `ACCOUNTS` accounts: limit orders around 1,000 that rest and cross, and IOCs that take. */
function signedOrders(scheme: SignatureScheme) {
  const signers = Array.from({ length: ACCOUNTS }, (_, i) => {
    const secret = new Uint8Array(32);
    new DataView(secret.buffer).setUint32(0, i + 1);
    return scheme.signer(secret);
  });
  const nonces = signers.map(() => 0);
  const txs: Uint8Array[] = [];
  // Signed before the run, valid for its whole length: the exchange below allows that lifetime.
  const validity = { cluster: DEFAULT_CLUSTER, expiresAt: LIFETIME };
  for (let k = 0; k < ORDERS; k++) {
    const a = k % ACCOUNTS;
    const side = (k >> 1) % 2 === 0 ? 'buy' : 'sell';
    const offset = (k * 7) % 11;
    const price = side === 'buy' ? 995 + offset : 1_005 - offset;
    const tif = k % 3 === 0 ? 'IOC' : 'GTC';
    txs.push(signOrder(signers[a]!, ++nonces[a]!, placeAction({ symbol: 'SHARE-CASH', clientId: k + 1, side, price, size: 1 + (k % 10), tif }), validity));
  }
  const exchange: ExchangeConfig = {
    assets: ['CASH', 'SHARE'],
    markets: [{ symbol: 'SHARE-CASH', base: 'SHARE', quote: 'CASH', tickSize: 1, lotSize: 1, maxOrderSize: 1_000 }],
    genesis: signers.map((s) => ({ account: s.publicKey, balances: { CASH: 10n ** 12n, SHARE: 10n ** 9n } })),
    maxOrderLifetime: LIFETIME,
  };
  return { txs, exchange };
}

function itemsOf(txs: readonly Uint8Array[]): Item[] {
  return txs.map((bytes) => {
    const tx = decodeTransaction(bytes);
    const { domain, bytes: payload } = signedBody(tx);
    return { publicKey: tx.account, domain, payload, signature: tx.signature };
  });
}

/** Single-core verify rate on these very orders (same keys, same payload sizes), through the scheme a replica uses. */
function singleCoreVerifyRate(scheme: SignatureScheme, items: readonly Item[]): number {
  const sample = items.slice(0, 2_000);
  for (const it of sample.slice(0, 200)) scheme.verify(it.publicKey, it.domain, it.payload, it.signature);
  let verified = 0;
  const start = performance.now();
  let now = start;
  while (now - start < 1_500) {
    for (const it of sample) if (scheme.verify(it.publicKey, it.domain, it.payload, it.signature)) verified++;
    now = performance.now();
  }
  return verified / ((now - start) / 1000);
}

async function throughput() {
  const cores = availableParallelism();
  const ed = createSignatureScheme('node');
  const { txs, exchange } = signedOrders(ed);
  const chunks: Uint8Array[][] = [];
  for (let i = 0; i < txs.length; i += CHUNK) chunks.push(txs.slice(i, i + CHUNK));
  const chunkItems = chunks.map(itemsOf);
  const rate = singleCoreVerifyRate(ed, chunkItems.flat());
  const bound = (cores * rate) / N;
  line('ed25519 verify, one core (node backend, these orders)', `${Math.round(rate)} /s`);
  line(`crypto bound: ${cores} cores x verify rate / ${N} replicas`, `${Math.round(bound)} orders/s`);

  const schemes = Array.from({ length: N }, () => new PrefetchedScheme(ed));
  const cluster = replicatedExchange(hotstuff(), { exchange, clientScheme: (self) => schemes[self]! });
  const applied = new Array<number>(N).fill(0);
  let executed = 0;
  const pool = new VerifierPool(cores);
  const start = performance.now();
  const run = startSimulation({ protocol: cluster, n: N, seed: 1, network: synchronous(10), timing: { delta: 10 }, duration: 3_600_000, trace: false, signatures: 'ed25519', maxBlockTxs: 2 * CHUNK });
  cluster.replicas.forEach((r) =>
    r.onBlock((result) => {
      applied[r.self]! += result.receipts.length;
      if (r.self === 0) for (const x of result.receipts) if (x.status === 'executed') executed++;
    }),
  );
  // Every replica's verification of every chunk is queued at once: the workers run ahead
  // of consensus, as a replica's mempool would verify on other cores while it votes.
  const jobs = chunkItems.map((items) => {
    const packed = packItems(items);
    return schemes.map(() => pool.verify(packed, items.length));
  });
  const interval = 50;
  let waitMs = 0;
  let runMs = 0;
  for (let k = 0; k < chunks.length; k++) {
    const w0 = performance.now();
    const verdicts = await Promise.all(jobs[k]!);
    waitMs += performance.now() - w0;
    schemes.forEach((s, r) => s.install(chunkItems[k]!, verdicts[r]!));
    run.offer(chunks[k]!, { at: run.now + 1 });
    const r0 = performance.now();
    run.runUntil(run.now + interval);
    runMs += performance.now() - r0;
  }
  while (applied.some((a) => a < txs.length) && run.now < 3_600_000) run.runUntil(run.now + interval);
  const seconds = (performance.now() - start) / 1000;
  await pool.close();
  if (applied.some((a) => a !== txs.length)) throw new Error(`not every order was finalized: ${applied.join(', ')}`);
  // The root commits to the height: compare at the height every replica reached.
  const common = Math.min(...cluster.replicas.map((r) => r.stateRoots.length));
  const roots = cluster.replicas.map((r) => r.stateRoots[common - 1]);
  if (new Set(roots).size !== 1) throw new Error('state roots disagree');
  const perSecond = txs.length / seconds;
  const fallbacks = schemes.reduce((s, x) => s + x.fallbacks, 0);
  const prefetched = schemes.reduce((s, x) => s + x.prefetched, 0);
  line(`finalized signed orders, ${N}-replica HotStuff cluster (real ed25519 throughout)`, `${txs.length} in ${seconds.toFixed(2)} s = ${Math.round(perSecond)} /s (${executed} executed, ${prefetched + fallbacks} client signature checks, ${fallbacks} on the main thread)`);
  line('  main thread: consensus and execution of 4 replicas', `${(runMs / 1000).toFixed(2)} s; waiting for verdicts ${(waitMs / 1000).toFixed(2)} s`);
  line('ratio to the crypto bound', (perSecond / bound).toFixed(2));
  return {
    cores,
    verifyPerSecondOneCore: Math.round(rate),
    cryptoBoundOrdersPerSecond: Math.round(bound),
    orders: txs.length,
    executed,
    seconds: round(seconds, 3),
    finalizedOrdersPerSecond: Math.round(perSecond),
    ratioToBound: round(perSecond / bound, 3),
    clientSignatureChecks: prefetched + fallbacks,
    blocks: run.result().honestFinalizedHeight,
    mainThreadRunSeconds: round(runMs / 1000, 3),
    mainThreadWaitSeconds: round(waitMs / 1000, 3),
  };
}

function round(x: number, digits: number): number {
  return Number(x.toFixed(digits));
}

const dayFigures = process.env['BFTX_BENCH_SKIP_DAY'] ? undefined : day();
const factFigures = FACT_SEEDS > 0 ? facts() : undefined;
const throughputFigures = await throughput();
console.log(JSON.stringify({ suite: 'agents', rmsc04: dayFigures, throughput: throughputFigures, stylisedFacts: factFigures }));
