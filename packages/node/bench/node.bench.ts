// node:bench: for each protocol, a 4-process cluster on loopback (real TCP, Ed25519, LevelDB with
// fsync) and the load generator stepping the offered rate up until the cluster no longer keeps up;
// the highest rate it sustained (finalized orders/s), submit-to-final p50/p99 there, and the ratio to
// the crypto bound measured in the same run: cores x single-core Ed25519 verify rate / n (each order
// is verified once by each of the n replicas). The load generator shares the machine's cores.
// Each protocol runs twice on the same rate steps, execution attestations off then on (each replica
// signs one per finalized block and checks its peers'), side by side: the finalized-orders
// throughput of each and the ratio, and what attestations cost per block on the replicas (from
// their /metrics: producing one, sign + encode + queue to every peer; checking the n-1 received).
// Each step also gives each replica process's CPU (all its threads: the event loop and its verify
// workers) as cores used, and the blocks finalized a second. Before any order, the cluster runs
// IDLE_S seconds with none: its cores used and blocks a second then give what a block costs apart
// from its orders. A warm-up step (half the first rate, 3 s, not counted) comes first, so a
// cold start's compile pauses do not end the ladder.
// Last line: one JSON object.
//
//   npx nx run node:bench
//   BFTX_BENCH_STEP_S=10 BFTX_BENCH_PROTOCOLS=hotstuff npx nx run node:bench
//   BFTX_BENCH_ATTESTATIONS=on npx nx run node:bench     (one side only: on or off)
//   BFTX_BENCH_ATTESTATIONS=off,on,on,off npx nx run node:bench   (each side twice, ABBA: a busy machine's drift cancels; a side's figures are the mean)
//   BFTX_BENCH_RATES=100,200,300 npx nx run node:bench   (other rate steps, orders/s: a small machine)
//   BFTX_BENCH_VERIFY_WORKERS=3 npx nx run node:bench   (each replica's verify workers; default: cores / 4 replicas, less one for its event loop)
//   BFTX_BENCH_REPLICA_NODE_ARGS='--cpu-prof --cpu-prof-dir=/tmp/prof' npx nx run node:bench   (a CPU profile per replica process)
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ValidatorSet } from '@bftx/consensus';
import { createSignatureScheme, decode, encode } from '@bftx/crypto';
import { AttestationCodec, signAttestation, verifyAttestations } from '@bftx/exchange';
import { encodeFrame, EnvelopeCodec, runLoad, writeClusterFiles, type ClusterFiles, type LoadReport } from '../src/index';

const N = 4;
const STEP_S = Number(process.env['BFTX_BENCH_STEP_S'] ?? 5);
const PROTOCOLS = (process.env['BFTX_BENCH_PROTOCOLS'] ?? 'hotstuff,streamlet,pbft').split(',');
const SIDES = (process.env['BFTX_BENCH_ATTESTATIONS'] ?? 'off,on').split(',').map((x) => x.trim() === 'on');
// High enough for a 16-core machine: the ladder stops at the first step not sustained.
const RATES = process.env['BFTX_BENCH_RATES']?.split(',').map(Number) ?? [500, 1_000, 1_500, 2_000, 2_500, 3_000, 3_500, 4_000, 5_000, 6_000, 7_000, 8_000, 10_000, 12_000, 14_000, 16_000, 20_000];
/** Each replica's verify workers: its share of the cores, less its event loop's. */
const VERIFY_WORKERS = Number(process.env['BFTX_BENCH_VERIFY_WORKERS'] ?? Math.max(0, Math.floor(availableParallelism() / N) - 1));
/** Extra Node flags for each replica process, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof` (a profile per replica). */
const REPLICA_NODE_ARGS = (process.env['BFTX_BENCH_REPLICA_NODE_ARGS'] ?? '').split(' ').filter((x) => x !== '');
/** A bundled replica-process entry to run instead of the source with tsx. */
const REPLICA_ENTRY = process.env['BFTX_BENCH_REPLICA_ENTRY'];
/** A step is sustained when nearly every order offered in it was finalized in time. */
const SUSTAINED = (r: LoadReport) => r.finalized >= 0.98 * r.submitted && r.latencyMs.p99 < 2_000;

function line(label: string, value: string): void {
  console.log(`${label.padEnd(52)} ${value}`);
}

/** Ed25519 verifications per second on one core: the best of three half-second runs (this machine is noisy; the best is what a core can do). */
function verifyRate(): number {
  const scheme = createSignatureScheme();
  const signer = scheme.signer(new Uint8Array(32).fill(7));
  const message = new Uint8Array(120).fill(1);
  const signature = signer.sign('bftx.bench', message);
  let best = 0;
  for (let run = 0; run < 3; run++) {
    let n = 0;
    const begin = performance.now();
    while (performance.now() - begin < 500) {
      for (let i = 0; i < 200; i++) scheme.verify(signer.publicKey, 'bftx.bench', message, signature);
      n += 200;
    }
    best = Math.max(best, (n * 1000) / (performance.now() - begin));
  }
  return best;
}

/**
 * One attestation's cost on one core, apart from any cluster (the best of three half-second runs):
 * producing it (sign, encode, frame) and checking a received one (decode, verify).
 */
function attestationMicro(): { produceUs: number; checkUs: number } {
  const scheme = createSignatureScheme();
  const signer = scheme.signer(new Uint8Array(32).fill(9));
  const validators = new ValidatorSet([signer.publicKey]);
  const statement = { height: 1234, blockHash: new Uint8Array(32).fill(1), stateRoot: new Uint8Array(32).fill(2) };
  const best = (op: () => void) => {
    let us = Number.POSITIVE_INFINITY;
    for (let run = 0; run < 3; run++) {
      let n = 0;
      const begin = performance.now();
      while (performance.now() - begin < 500) {
        for (let i = 0; i < 50; i++) op();
        n += 50;
      }
      us = Math.min(us, ((performance.now() - begin) * 1000) / n);
    }
    return Math.round(us * 10) / 10;
  };
  const bytes = encode(AttestationCodec, signAttestation(signer, 0, statement));
  return {
    produceUs: best(() => encodeFrame(encode(EnvelopeCodec, { type: 'attestation', attestation: encode(AttestationCodec, signAttestation(signer, 0, statement)) }))),
    checkUs: best(() => {
      const a = decode(AttestationCodec, bytes);
      verifyAttestations(validators, scheme, a, [a], 1);
    }),
  };
}

/** CPU seconds (user + system, all threads) a process has used, from /proc (Linux); NaN elsewhere. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name (which may hold spaces): utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // USER_HZ, 100 on Linux
  } catch {
    return Number.NaN;
  }
}

async function free(port: number): Promise<boolean> {
  return new Promise((res) => {
    const s = createServer();
    s.once('error', () => res(false));
    s.listen(port, '127.0.0.1', () => s.close(() => res(true)));
  });
}

async function freeBase(): Promise<number> {
  for (let base = 41_000; ; base += 200) {
    const ports = [0, 1, 2, 3, 100, 101, 102, 103].map((d) => base + d);
    if ((await Promise.all(ports.map(free))).every(Boolean)) return base;
  }
}

async function up(files: ClusterFiles): Promise<void> {
  const end = Date.now() + 30_000;
  while (Date.now() < end) {
    const s = await Promise.all(files.replicas.map((r) => fetch(`http://${r.api.host}:${r.api.port}/v1/status`).then((x) => x.json() as Promise<{ connectedPeers: number[] }>, () => undefined)));
    if (s.every((x) => x?.connectedPeers.length === N - 1)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the cluster did not come up');
}

/** Attestation figures summed over the replicas' /metrics. */
async function attestationCosts(files: ClusterFiles): Promise<{ signed: number; received: number; produceS: number; checkS: number; blocks: number; refused: number; requests: number }> {
  const sum = { signed: 0, received: 0, produceS: 0, checkS: 0, blocks: 0, refused: 0, requests: 0 };
  for (const r of files.replicas) {
    const text = await (await fetch(`http://${r.api.host}:${r.api.port}/metrics`)).text();
    const value = (name: string) => Number(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'm').exec(text)?.[1] ?? 0);
    // Summed over every series (label values) of a counter.
    const total = (name: string) => [...text.matchAll(new RegExp(`^${name}(?:\\{[^}]*\\})? ([0-9.e+-]+)$`, 'gm'))].reduce((a, m) => a + Number(m[1]), 0);
    sum.signed += value('bftx_attestations_signed_total');
    sum.received += value('bftx_attestations_received_total');
    sum.produceS += value('bftx_attestation_produce_seconds_total');
    sum.checkS += value('bftx_attestation_check_seconds_total');
    sum.blocks += value('bftx_finalized_height');
    sum.refused += total('bftx_attestations_refused_total');
    sum.requests += total('bftx_attestation_requests_total');
  }
  return sum;
}

/** Replica 0's finalized height (from its /metrics). */
async function finalizedHeight(files: ClusterFiles): Promise<number> {
  const r = files.replicas[0]!;
  const text = await (await fetch(`http://${r.api.host}:${r.api.port}/metrics`)).text();
  return Number(/^bftx_finalized_height(?:\{[^}]*\})? ([0-9.e+-]+)$/m.exec(text)?.[1] ?? Number.NaN);
}

/** Seconds the cluster runs with no orders, measured before the warm-up: the cost of blocks alone. */
const IDLE_S = 5;

interface Run {
  /** With no orders: each replica's cores used and blocks finalized a second. */
  idle: { cores: number[]; blocksPerS: number };
  /** Blocks finalized a second in each step (sending and draining). */
  stepBlocksPerS: number[];
  maxSustained: number;
  /** Each replica process's cores used (all its threads) in the step of the max sustained rate. */
  replicaCores: number[];
  /** Blocks finalized per second on one replica over the whole run. */
  blocksPerS: number;
  p50: number;
  p99: number;
  generatorCpu: number;
  steps: LoadReport[];
  /** Per finalized block on one replica, in µs: producing its attestation, and checking the n-1 received. */
  produceUsPerBlock: number;
  checkUsPerBlock: number;
  /** Attestations refused, and requests for missed ones (sent and served), over the run, all replicas. */
  refused: number;
  requests: number;
}

async function benchProtocol(protocol: string, attestations: boolean): Promise<Run> {
  const dir = mkdtempSync(join(tmpdir(), `bftx-node-bench-${protocol}-`));
  const files = writeClusterFiles(dir, { nodes: N, protocol, host: '127.0.0.1', basePort: await freeBase(), deltaMs: 50, clients: 64, attestations, verifyWorkers: VERIFY_WORKERS });
  const label = `${protocol} (attestations ${attestations ? 'on' : 'off'})`;
  const script = fileURLToPath(new URL('replica-process.ts', import.meta.url));
  // From source with tsx, or a bundled replica entry (a machine without the repo: see bench/device/README.md).
  const args = REPLICA_ENTRY === undefined ? ['--conditions=@bftx/source', '--import', 'tsx', script] : [REPLICA_ENTRY];
  const children: ChildProcess[] = files.replicas.map((r) => spawn(process.execPath, [...REPLICA_NODE_ARGS, ...args, r.config], { stdio: ['ignore', 'ignore', 'inherit'] }));
  const steps: LoadReport[] = [];
  /** Each replica's cores used in each step. */
  const stepCores: number[][] = [];
  const stepBlocksPerS: number[] = [];
  let idle = { cores: [] as number[], blocksPerS: Number.NaN };
  let best: LoadReport | undefined;
  let bestCores: number[] = [];
  let costs = { signed: 0, received: 0, produceS: 0, checkS: 0, blocks: 0, refused: 0, requests: 0 };
  let began = performance.now();
  try {
    await up(files);
    {
      // No orders: what blocks alone cost (a protocol that proposes when idle keeps finalizing empty blocks).
      const cpu0 = children.map((c) => cpuSeconds(c.pid));
      const h0 = await finalizedHeight(files);
      const t0 = performance.now();
      await new Promise((r) => setTimeout(r, IDLE_S * 1000));
      const s = (performance.now() - t0) / 1000;
      const h1 = await finalizedHeight(files);
      idle = { cores: children.map((c, i) => Math.round(((cpuSeconds(c.pid) - cpu0[i]!) / s) * 100) / 100), blocksPerS: Math.round(((h1 - h0) / s) * 10) / 10 };
      const perBlockMs = idle.blocksPerS > 0 ? Math.round(((idle.cores.reduce((a, b) => a + b, 0) / N / idle.blocksPerS) * 1000 * 10)) / 10 : Number.NaN;
      line(`${label}: no orders, ${IDLE_S} s`, `${idle.blocksPerS} blocks/s, replicas ${idle.cores.join(' ')} cores: ${perBlockMs} ms of a replica's CPU a block`);
    }
    await runLoad(files, { rate: Math.max(1, Math.round(RATES[0]! / 2)), durationS: 3, drainS: 3, unattested: true });
    began = performance.now();
    for (const rate of RATES) {
      // Cores used while the orders are being sent (from the generator's first tick to its last), not in the drain after.
      let first: { at: number; cpu: number[] } | undefined;
      let last: { at: number; cpu: number[] } | undefined;
      const sample = () => ({ at: performance.now(), cpu: children.map((c) => cpuSeconds(c.pid)) });
      const h0 = await finalizedHeight(files);
      const t0 = performance.now();
      const r = await runLoad(files, { rate, durationS: STEP_S, drainS: 5, unattested: !attestations, onTick: () => (first === undefined ? (first = sample()) : (last = sample())) });
      const blocksPerS = Math.round((((await finalizedHeight(files)) - h0) / ((performance.now() - t0) / 1000)) * 10) / 10;
      stepBlocksPerS.push(blocksPerS);
      const used = children.map((_, i) => (first === undefined || last === undefined ? Number.NaN : Math.round(((last.cpu[i]! - first.cpu[i]!) / ((last.at - first.at) / 1000)) * 100) / 100));
      steps.push(r);
      stepCores.push(used);
      const ok = SUSTAINED(r);
      line(`${label}: offered ${rate}/s`, `finalized ${r.finalizedPerS}/s, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, replicas ${used.join(' ')} cores, ${blocksPerS} blocks/s, generator ${Math.round(r.generatorCpu * 100)}% of a core${ok ? '' : '  (not sustained)'}`);
      if (!ok) break;
      best = r;
      bestCores = used;
    }
    costs = await attestationCosts(files);
  } finally {
    began = (performance.now() - began) / 1000; // seconds under load
    await Promise.all(children.map((c) => new Promise<void>((res) => (c.exitCode !== null ? res() : (c.once('exit', () => res()), c.kill('SIGTERM'))))));
    rmSync(dir, { recursive: true, force: true });
  }
  const perBlock = (seconds: number) => (costs.blocks > 0 ? Math.round((seconds / costs.blocks) * 1e7) / 10 : 0);
  return { idle, stepBlocksPerS, replicaCores: bestCores, maxSustained: best?.finalizedPerS ?? 0, blocksPerS: Math.round(costs.blocks / N / began), p50: best?.latencyMs.p50 ?? Number.NaN, p99: best?.latencyMs.p99 ?? Number.NaN, generatorCpu: best?.generatorCpu ?? Number.NaN, steps, produceUsPerBlock: perBlock(costs.produceS), checkUsPerBlock: perBlock(costs.checkS), refused: costs.refused, requests: costs.requests };
}

const cores = availableParallelism();
const perCore = verifyRate();
const bound = (cores * perCore) / N;
line('cores', String(cores));
line('Ed25519 verify, one core (node:crypto)', `${Math.round(perCore)}/s`);
line(`crypto bound: cores x verify rate / n (n = ${N})`, `${Math.round(bound)} orders/s`);
line('verify workers per replica', String(VERIFY_WORKERS));
const micro = attestationMicro();
line('attestation, one core: produce (sign, encode, frame)', `${micro.produceUs} µs`);
// A replica checks the received ones until it holds a quorum (its own included): 2f of them, or up to n - 1 when they come before its own.
const QUORUM = Math.ceil((2 * N) / 3);
line(`attestation, one core: check one (decode, verify); x${QUORUM - 1} to ${N - 1}/block`, `${micro.checkUs} µs; ${Math.round(micro.checkUs * (QUORUM - 1) * 10) / 10} to ${Math.round(micro.checkUs * (N - 1) * 10) / 10} µs per block`);
type Result = { idleReplicaCores: number[]; idleBlocksPerS: number; stepsBlocksPerS: number[]; replicaCores: number[]; maxSustainedPerS: number; blocksPerS: number; p50Ms: number; p99Ms: number; ratioToBound: number; generatorCoreShare: number; stepsFinalizedPerS: number[]; produceUsPerBlock: number; checkUsPerBlock: number };
const mean = (xs: readonly number[]) => Math.round(xs.reduce((a, x) => a + x, 0) / xs.length);
const results: Record<string, { off: Result[]; on: Result[]; onToOff?: number }> = {};
for (const protocol of PROTOCOLS) {
  const sides: { off: Result[]; on: Result[]; onToOff?: number } = { off: [], on: [] };
  for (const attestations of SIDES) {
    const r = await benchProtocol(protocol, attestations);
    const side: Result = { idleReplicaCores: r.idle.cores, idleBlocksPerS: r.idle.blocksPerS, stepsBlocksPerS: r.stepBlocksPerS, replicaCores: r.replicaCores, maxSustainedPerS: r.maxSustained, blocksPerS: r.blocksPerS, p50Ms: r.p50, p99Ms: r.p99, ratioToBound: Math.round((r.maxSustained / bound) * 100) / 100, generatorCoreShare: r.generatorCpu, stepsFinalizedPerS: r.steps.map((s) => s.finalizedPerS), produceUsPerBlock: r.produceUsPerBlock, checkUsPerBlock: r.checkUsPerBlock };
    sides[attestations ? 'on' : 'off'].push(side);
    line(`${protocol} (attestations ${attestations ? 'on' : 'off'}): max sustained`, `${r.maxSustained} orders/s (${side.ratioToBound} of the bound), p50 ${r.p50} ms, p99 ${r.p99} ms; ${r.blocksPerS} blocks/s; replicas ${r.replicaCores.join(' ')} cores`);
    if (attestations) line(`${protocol}: attestation CPU per block, one replica`, `produce (sign + send) ${r.produceUsPerBlock} µs, check those received ${r.checkUsPerBlock} µs (process CPU while in them); ${r.refused} refused (surplus ones included), ${r.requests} repair requests`);
  }
  if (sides.on.length > 0 && sides.off.length > 0) {
    const off = mean(sides.off.map((x) => x.maxSustainedPerS));
    const on = mean(sides.on.map((x) => x.maxSustainedPerS));
    sides.onToOff = off > 0 ? Math.round((on / off) * 100) / 100 : Number.NaN;
    const longest = Math.max(...[...sides.on, ...sides.off].map((x) => x.stepsFinalizedPerS.length));
    const at = (runs: readonly Result[], i: number) => runs.map((x) => x.stepsFinalizedPerS[i] ?? '-').join(', ');
    for (const [i, rate] of RATES.slice(0, longest).entries()) line(`${protocol}: offered ${rate}/s, finalized off | on`, `${at(sides.off, i)} | ${at(sides.on, i)} orders/s`);
    line(`${protocol}: max sustained (mean of runs), on / off`, `${on} / ${off} = ${sides.onToOff}`);
  }
  results[protocol] = sides;
}
console.log(JSON.stringify({ suite: 'node', n: N, cores, verifyWorkers: VERIFY_WORKERS, verifyPerCorePerS: Math.round(perCore), cryptoBoundPerS: Math.round(bound), attestationOneCore: micro, stepSeconds: STEP_S, protocols: results }));
