import { parentPort, workerData } from 'node:worker_threads';
import { createSignatureScheme, Domains, type SignatureBackend } from '../src/index';
import { makeSignedBatch } from './fixtures';

const { backend, ms } = workerData as { backend: SignatureBackend; ms: number };
const scheme = createSignatureScheme(backend);
const batch = makeSignedBatch(scheme, 64);
// warm up (JIT, key cache), then count verifications for `ms`
for (const item of batch) scheme.verify(item.publicKey, Domains.vote, item.payload, item.signature);
let verified = 0;
const start = performance.now();
let now = start;
while (now - start < ms) {
  for (let i = 0; i < 64; i++) {
    const item = batch[i]!;
    if (!scheme.verify(item.publicKey, Domains.vote, item.payload, item.signature)) throw new Error('signature failed to verify');
    verified++;
  }
  now = performance.now();
}
parentPort!.postMessage({ verified, elapsedMs: now - start });
