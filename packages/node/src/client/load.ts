// A load generator: signed limit orders from the cluster's funded clients, offered at a steady
// rate to every replica's API (as a client that wants its order seen by whichever replica leads),
// and the time from submission to the order's block arriving, finalized, on the stream of the first replica that answers (any may be down).
// It works through @bftx/client where trust matters: the clients' nonces come from proven
// accounts, orders carry the cluster id the client computes from the validator keys, and a
// sample of the finalized orders' receipts is proven at the end. Submission itself is the
// binary form straight to every replica (what is measured is the cluster, not JSON).
import { createSignatureScheme, fromHex, toHex, type Signer } from '@bftx/crypto';
import { DEFAULT_MAX_ORDER_LIFETIME, expiryFrom, placeAction, signOrder } from '@bftx/exchange';
import { WebSocket } from 'ws';
import { transactionId } from '../api';
import { encodeFrame } from '../frame';
import { MARKET, type ClusterFiles } from '../cluster-files';
import { clusterClient } from './client';

export interface LoadOptions {
  readonly rate: number;
  readonly durationS: number;
  /** How long to wait after the last submission for what is still in flight (default 10 s). */
  readonly drainS?: number;
  /** Orders per HTTP request at most (default 500). */
  readonly batch?: number;
  /** How often due orders are sent, in ms (default 50): a client batches what accrued since. */
  readonly tickMs?: number;
  readonly onTick?: (sent: number, finalized: number) => void;
  /**
   * The cluster runs with attestations off (a bench's baseline): nothing it answers can be proven,
   * so the clients' nonces are replica 0's word and no receipt is proven at the end.
   */
  readonly unattested?: boolean;
}

export interface LoadReport {
  readonly offeredPerS: number;
  readonly submitted: number;
  readonly refused: number;
  readonly finalized: number;
  readonly finalizedPerS: number;
  readonly latencyMs: { readonly p50: number; readonly p90: number; readonly p99: number; readonly max: number };
  readonly durationS: number;
  /** CPU time this generator used while sending, as a share of one core (it runs beside the replicas). */
  readonly generatorCpu: number;
  /** Finalized orders whose receipts were then proven through @bftx/client (a sample), and how many were sampled. */
  readonly provenReceipts: { readonly proven: number; readonly sampled: number };
  /** Messages on the stream that were not JSON (skipped). */
  readonly garbledStreamMessages: number;
  /** Submissions a replica refused or never answered, by replica index, with the last reason (absent when none). */
  readonly failedSubmissions: Readonly<Record<number, { readonly submissions: number; readonly reason: string }>>;
}

/** How many finalized orders' receipts a run proves at the end (each costs a few requests and signature checks). */
const PROOF_SAMPLE = 10;

const base = (e: { host: string; port: number }) => `http://${e.host}:${e.port}`;

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)]!;
}

/** Why a request failed: the socket's error code (ECONNREFUSED, ...) where there is one. */
function fetchFailure(e: unknown): string {
  return (e as { cause?: { code?: string } }).cause?.code ?? (e instanceof Error ? e.message : String(e));
}

/**
 * The replica the generator watches (its block stream, its refusals): the first that answers
 * /v1/status, so that a load runs with any replica down, replica 0 included. Throws naming each
 * replica's failure when none answers.
 */
async function firstAnswering(cluster: ClusterFiles): Promise<ClusterFiles['replicas'][number]> {
  const failures: string[] = [];
  for (const [i, r] of cluster.replicas.entries()) {
    try {
      const res = await fetch(`${base(r.api)}/v1/status`, { signal: AbortSignal.timeout(2_000) });
      if (res.ok) return r;
      failures.push(`replica ${i}: HTTP ${res.status}`);
    } catch (e) {
      failures.push(`replica ${i} (${base(r.api)}): ${fetchFailure(e)}`);
    }
  }
  throw new Error(`no replica answers: ${failures.join('; ')}`);
}

export async function runLoad(cluster: ClusterFiles, o: LoadOptions): Promise<LoadReport> {
  const scheme = createSignatureScheme();
  const home = await firstAnswering(cluster);
  const client = clusterClient(cluster);
  const clients: Array<{ signer: Signer; nonce: number; clientId: number }> = [];
  let height = 0;
  for (const secret of cluster.clients) {
    const signer = scheme.signer(fromHex(secret));
    if (o.unattested === true) {
      const res = await fetch(`${base(home.api)}/v1/accounts/${toHex(signer.publicKey)}`, { signal: AbortSignal.timeout(5_000) });
      if (!res.ok) throw new Error(`replica ${cluster.replicas.indexOf(home)} does not know client ${toHex(signer.publicKey).slice(0, 12)}: HTTP ${res.status}`);
      const account = (await res.json()) as { nonce: number; height: number };
      height = Math.max(height, account.height);
      clients.push({ signer, nonce: account.nonce, clientId: account.nonce });
      continue;
    }
    const account = await client.account(toHex(signer.publicKey));
    height = Math.max(height, account.certified.height);
    clients.push({ signer, nonce: account.nonce, clientId: account.nonce });
  }
  const pending = new Map<string, number>();
  const latencies: number[] = [];
  const finalIds: string[] = [];
  // A replica that never completes the upgrade must not hang the run; one that streams garbage
  // must not crash it (what it streams is its word only: the sample of receipts is proven below).
  const stream = new WebSocket(`ws://${home.api.host}:${home.api.port}/v1/stream`, { handshakeTimeout: 5_000 });
  stream.on('error', () => undefined);
  await new Promise<void>((resolve, reject) => {
    stream.once('open', () => resolve());
    stream.once('error', (e) => reject(new Error(`the stream of ${base(home.api)}: ${e.message}`)));
  });
  let garbled = 0;
  stream.on('message', (data) => {
    let m: { type?: unknown; transactions?: unknown };
    try {
      m = JSON.parse(String(data)) as typeof m;
    } catch {
      garbled++;
      return;
    }
    if (m === null || typeof m !== 'object' || m.type !== 'block' || !Array.isArray(m.transactions)) return;
    const now = performance.now();
    for (const key of m.transactions as unknown[]) {
      if (typeof key !== 'string') continue;
      const at = pending.get(key);
      if (at !== undefined) {
        latencies.push(now - at);
        pending.delete(key);
        // The last ones final: a replica keeps a window of recent receipts (`recentReceipts`), and a
        // long run's first ones have left it by the end (they would fail to prove on a healthy cluster).
        if (o.unattested !== true) {
          finalIds.push(key);
          if (finalIds.length > PROOF_SAMPLE) finalIds.shift();
        }
      }
    }
  });

  const batchMax = o.batch ?? 500;
  // Every order is signed before the clock starts: the generator shares the machine with the
  // replicas, and signing while it submits would take CPU from what is being measured.
  const total = Math.ceil(o.rate * o.durationS);
  // Signed ahead: valid from replica 0's height now for all but 100 of the blocks the exchange allows
  // (a run longer than that many blocks sees its last orders refused EXPIRED).
  // On the cluster id the validator keys give (the one replicas refuse orders without).
  const validity = { cluster: client.trust.cluster, expiresAt: expiryFrom(height, DEFAULT_MAX_ORDER_LIFETIME - 100) };
  const prepared: Array<{ frame: Uint8Array; key: string }> = [];
  for (let k = 0; k < total; k++) {
    const c = clients[k % clients.length]!;
    c.nonce++;
    c.clientId++;
    // Resting bids, and immediate-or-cancel sells that trade against them: every other order
    // trades and the book stays small however long the run.
    const buy = k % 2 === 0;
    const tx = signOrder(c.signer, c.nonce, placeAction({ symbol: MARKET.symbol, clientId: c.clientId, side: buy ? 'buy' : 'sell', price: buy ? 1_000 : 999, size: 1, tif: buy ? 'GTC' : 'IOC' }), validity);
    prepared.push({ frame: encodeFrame(tx), key: transactionId(tx) });
  }
  let submitted = 0;
  let refused = 0;
  const failedSubmissions: Record<number, { submissions: number; reason: string }> = {};
  const failed = (replica: number, reason: string) => {
    const f = (failedSubmissions[replica] ??= { submissions: 0, reason });
    f.submissions++;
    f.reason = reason;
  };
  const inFlight = new Set<Promise<void>>();
  const cpuBefore = process.cpuUsage();
  const begin = performance.now();
  const end = begin + o.durationS * 1000;
  while (performance.now() < end && submitted < total) {
    const due = Math.min(total, Math.floor(((performance.now() - begin) / 1000) * o.rate)) - submitted;
    for (let left = due; left > 0; left -= batchMax) {
      const n = Math.min(left, batchMax);
      const batch = prepared.slice(submitted, submitted + n);
      const now = performance.now();
      for (const p of batch) pending.set(p.key, now);
      submitted += n;
      // The binary form: each transaction length-prefixed (no hex, no JSON to parse).
      const body = new Uint8Array(batch.reduce((a, p) => a + p.frame.length, 0));
      let at = 0;
      for (const p of batch) {
        body.set(p.frame, at);
        at += p.frame.length;
      }
      for (const [i, r] of cluster.replicas.entries()) {
        const p = fetch(`${base(r.api)}/v1/transactions`, { method: 'POST', body, headers: { 'content-type': 'application/octet-stream' }, signal: AbortSignal.timeout(10_000) })
          .then(async (res) => {
            // An accepted batch's answer is read, not decoded: the generator shares the cores it measures.
            if (res.ok) return void (await res.arrayBuffer());
            if (r === home) refused += n;
            failed(i, `HTTP ${res.status} ${(await res.text()).slice(0, 120)}`);
          })
          .catch((e: unknown) => {
            if (r === home) refused += n;
            failed(i, fetchFailure(e));
          })
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
    }
    o.onTick?.(submitted, latencies.length);
    await new Promise((r) => setTimeout(r, o.tickMs ?? 50));
  }
  const sentFor = (performance.now() - begin) / 1000;
  const cpu = process.cpuUsage(cpuBefore);
  await Promise.all(inFlight);
  const drainEnd = performance.now() + (o.drainS ?? 10) * 1000;
  while (pending.size > refused && performance.now() < drainEnd) await new Promise((r) => setTimeout(r, 20));
  // The run ends here: the proofs sampled below are not part of what the rate is measured over.
  const finishedAt = performance.now();
  stream.close();
  // A sample of what the stream reported final, proven through the client (certificate, attestations, Merkle path).
  const proofs = await Promise.all(finalIds.map((id) => client.waitForReceipt(id, 10_000).then(() => 1, () => 0)));
  const sorted = [...latencies].sort((a, b) => a - b);
  const lastFinal = latencies.length;
  return {
    offeredPerS: o.rate,
    submitted,
    refused,
    finalized: lastFinal,
    finalizedPerS: Math.round(lastFinal / Math.max(sentFor, (finishedAt - begin) / 1000)),
    latencyMs: { p50: Math.round(percentile(sorted, 0.5)), p90: Math.round(percentile(sorted, 0.9)), p99: Math.round(percentile(sorted, 0.99)), max: Math.round(sorted[sorted.length - 1] ?? Number.NaN) },
    durationS: Math.round(sentFor * 10) / 10,
    generatorCpu: Math.round(((cpu.user + cpu.system) / 1e6 / sentFor) * 100) / 100,
    provenReceipts: { proven: proofs.reduce((a: number, b: number) => a + b, 0), sampled: finalIds.length },
    failedSubmissions,
    garbledStreamMessages: garbled,
  };
}
