// node:bench: for each protocol, a 4-process cluster on loopback (real TCP, Ed25519, LevelDB with
// fsync) and the load generator stepping the offered rate up until the cluster no longer keeps up;
// the highest rate it sustained (finalized orders/s), submit-to-final p50/p99 there, and the ratio to
// the crypto bound measured in the same run: cores x single-core Ed25519 verify rate / n (each order
// is verified once by each of the n replicas). The load generator shares the machine's cores.
// Last line: one JSON object.
//
//   npx nx run node:bench
//   BFTX_BENCH_STEP_S=10 BFTX_BENCH_PROTOCOLS=hotstuff npx nx run node:bench
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSignatureScheme } from '@bftx/crypto';
import { runLoad, writeClusterFiles, type ClusterFiles, type LoadReport } from '../src/index';

const N = 4;
const STEP_S = Number(process.env['BFTX_BENCH_STEP_S'] ?? 5);
const PROTOCOLS = (process.env['BFTX_BENCH_PROTOCOLS'] ?? 'hotstuff,streamlet,pbft').split(',');
const RATES = [500, 1_000, 1_500, 1_750, 2_000, 2_250, 2_500, 2_750, 3_000, 3_500, 4_000, 5_000];
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

async function benchProtocol(protocol: string): Promise<{ maxSustained: number; p50: number; p99: number; generatorCpu: number; steps: LoadReport[] }> {
  const dir = mkdtempSync(join(tmpdir(), `bftx-node-bench-${protocol}-`));
  const files = writeClusterFiles(dir, { nodes: N, protocol, host: '127.0.0.1', basePort: await freeBase(), deltaMs: 50, clients: 64 });
  const script = fileURLToPath(new URL('replica-process.ts', import.meta.url));
  const children: ChildProcess[] = files.replicas.map((r) => spawn(process.execPath, ['--conditions=@bftx/source', '--import', 'tsx', script, r.config], { stdio: ['ignore', 'ignore', 'inherit'] }));
  const steps: LoadReport[] = [];
  let best: LoadReport | undefined;
  try {
    await up(files);
    for (const rate of RATES) {
      const r = await runLoad(files, { rate, durationS: STEP_S, drainS: 5 });
      steps.push(r);
      const ok = SUSTAINED(r);
      line(`${protocol}: offered ${rate}/s`, `finalized ${r.finalizedPerS}/s, p50 ${r.latencyMs.p50} ms, p99 ${r.latencyMs.p99} ms, generator ${Math.round(r.generatorCpu * 100)}% of a core${ok ? '' : '  (not sustained)'}`);
      if (!ok) break;
      best = r;
    }
  } finally {
    await Promise.all(children.map((c) => new Promise<void>((res) => (c.exitCode !== null ? res() : (c.once('exit', () => res()), c.kill('SIGTERM'))))));
    rmSync(dir, { recursive: true, force: true });
  }
  return { maxSustained: best?.finalizedPerS ?? 0, p50: best?.latencyMs.p50 ?? Number.NaN, p99: best?.latencyMs.p99 ?? Number.NaN, generatorCpu: best?.generatorCpu ?? Number.NaN, steps };
}

const cores = availableParallelism();
const perCore = verifyRate();
const bound = (cores * perCore) / N;
line('cores', String(cores));
line('Ed25519 verify, one core (node:crypto)', `${Math.round(perCore)}/s`);
line(`crypto bound: cores x verify rate / n (n = ${N})`, `${Math.round(bound)} orders/s`);
const results: Record<string, { maxSustainedPerS: number; p50Ms: number; p99Ms: number; ratioToBound: number; generatorCoreShare: number }> = {};
for (const protocol of PROTOCOLS) {
  const r = await benchProtocol(protocol);
  results[protocol] = { maxSustainedPerS: r.maxSustained, p50Ms: r.p50, p99Ms: r.p99, ratioToBound: Math.round((r.maxSustained / bound) * 100) / 100, generatorCoreShare: r.generatorCpu };
  line(`${protocol}: max sustained`, `${r.maxSustained} orders/s (${results[protocol].ratioToBound} of the bound), p50 ${r.p50} ms, p99 ${r.p99} ms`);
}
console.log(JSON.stringify({ suite: 'node', n: N, cores, verifyPerCorePerS: Math.round(perCore), cryptoBoundPerS: Math.round(bound), stepSeconds: STEP_S, protocols: results }));
