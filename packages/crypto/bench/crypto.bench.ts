// npx nx run crypto:bench
// Sign, verify and hash rates for both Ed25519 backends, and verification on
// all cores with worker threads. Last line: one JSON object with the figures.
import { availableParallelism, cpus } from 'node:os';
import { Worker } from 'node:worker_threads';
import { Bench } from 'tinybench';
import { createSignatureScheme, Domains, hash, merkleRoot, sha256, type SignatureScheme } from '../src/index';
import { useSha256Backend } from '../src/sha256';
import { makeSignedBatch } from './fixtures';

const TIME_MS = Number(process.env.BENCH_TIME_MS ?? 1500);
const schemes: Record<'noble' | 'node', SignatureScheme> = { noble: createSignatureScheme('noble'), node: createSignatureScheme('node') };
const defaultBackend = createSignatureScheme('auto').backend as 'noble' | 'node';

const bench = new Bench({ time: TIME_MS, warmupTime: 300 });
const batch = makeSignedBatch(schemes.node, 64);
const message = new Uint8Array(100).fill(0xab); // about a vote's size
for (const [name, scheme] of Object.entries(schemes)) {
  const signer = scheme.signer(new Uint8Array(32).fill(9));
  bench.add(`${name} sign`, () => {
    signer.sign(Domains.vote, message);
  });
  let i = 0;
  bench.add(`${name} verify`, () => {
    const item = batch[i++ % batch.length]!;
    if (!scheme.verify(item.publicKey, Domains.vote, item.payload, item.signature)) throw new Error('bench signature failed to verify');
  });
}
// The project's own SHA-256 entry points under each backend (sha256.ts picks node:crypto under
// Node, noble in browsers): plain digests, a 200-byte tagged id (an order's size) and the Merkle
// root of 500 such leaves (a block's payload).
const small = new Uint8Array(32).fill(1);
const order = new Uint8Array(200).fill(3);
const leaves = Array.from({ length: 500 }, (_, i) => new Uint8Array(200).fill(i & 0xff));
const big = new Uint8Array(1 << 20).fill(2);
for (const backend of ['noble', 'node'] as const) {
  const opts = { beforeAll: () => useSha256Backend(backend) };
  bench.add(`${backend} sha256 32B`, () => void sha256(small), opts);
  bench.add(`${backend} id 200B`, () => void hash(Domains.order, order), opts);
  bench.add(`${backend} merkle 500x200B`, () => void merkleRoot(leaves), opts);
  bench.add(`${backend} sha256 1MiB`, () => void sha256(big), opts);
}

await bench.run();
useSha256Backend('node');
const rate = (name: string): number => {
  const t = bench.tasks.find((x) => x.name === name);
  const r = t?.result as { state?: string; period?: number } | undefined;
  if (!r || r.state !== 'completed' || !r.period) throw new Error(`bench task ${name} did not complete`);
  return 1000 / r.period;
};

/** Verification on `threads` worker threads, each verifying its share for `ms`. */
async function parallelVerify(backend: string, threads: number, ms: number): Promise<number> {
  const workers = Array.from({ length: threads }, () => new Worker(new URL('./ts-worker.mjs', import.meta.url), { workerData: { backend, ms, module: new URL('./verify-worker.ts', import.meta.url).href } }));
  const counts = await Promise.all(
    workers.map(
      (w) =>
        new Promise<{ verified: number; elapsedMs: number }>((resolve, reject) => {
          w.once('message', resolve);
          w.once('error', reject);
        }),
    ),
  );
  await Promise.all(workers.map((w) => w.terminate()));
  return counts.reduce((sum, c) => sum + (c.verified * 1000) / c.elapsedMs, 0);
}

const threads = availableParallelism();
const parallel = await parallelVerify(defaultBackend, threads, TIME_MS);

const figures = {
  bench: 'crypto',
  node: process.version,
  cpu: cpus()[0]?.model ?? 'unknown',
  threads,
  default_backend: defaultBackend,
  sign_per_s: { noble: Math.round(rate('noble sign')), node: Math.round(rate('node sign')) },
  verify_per_s: { noble: Math.round(rate('noble verify')), node: Math.round(rate('node verify')) },
  sha256_32B_per_s: { noble: Math.round(rate('noble sha256 32B')), node: Math.round(rate('node sha256 32B')) },
  sha256_1MiB_MiB_per_s: { noble: Math.round(rate('noble sha256 1MiB')), node: Math.round(rate('node sha256 1MiB')) },
  id_200B_per_s: { noble: Math.round(rate('noble id 200B')), node: Math.round(rate('node id 200B')) },
  merkle_500x200B_per_s: { noble: Math.round(rate('noble merkle 500x200B')), node: Math.round(rate('node merkle 500x200B')) },
  verify_all_cores_per_s: { backend: defaultBackend, threads, rate: Math.round(parallel) },
  default_verify_vs_fastest: 0,
};
figures.default_verify_vs_fastest = Number(
  (figures.verify_per_s[defaultBackend] / Math.max(figures.verify_per_s.noble, figures.verify_per_s.node)).toFixed(3),
);

const row = (label: string, v: { noble: number; node: number }, unit = 'ops/s') =>
  console.log(`${label.padEnd(22)} noble ${String(v.noble).padStart(9)}  node ${String(v.node).padStart(9)}  ${unit}  (node/noble ${(v.node / v.noble).toFixed(1)}x)`);
console.log(`@bftx/crypto bench: ${figures.node}, ${figures.cpu}, ${threads} threads, ${TIME_MS} ms per task`);
row('ed25519 sign', figures.sign_per_s);
row('ed25519 verify', figures.verify_per_s);
row('sha256 32 B', figures.sha256_32B_per_s);
row('sha256 1 MiB', figures.sha256_1MiB_MiB_per_s, 'MiB/s');
row('id of 200 B', figures.id_200B_per_s);
row('merkle 500 x 200 B', figures.merkle_500x200B_per_s, 'roots/s');
console.log(`verify on ${threads} threads (${defaultBackend}): ${figures.verify_all_cores_per_s.rate} ops/s`);
console.log(`default backend "${defaultBackend}" verifies at ${(figures.default_verify_vs_fastest * 100).toFixed(1)}% of the fastest backend`);
console.log(JSON.stringify(figures));
