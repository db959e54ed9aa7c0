// One worker of the bench's verifier pool: checks client signatures with the node backend,
// the same scheme a replica uses, and answers one byte per item (1 = valid). Items come
// packed in a SharedArrayBuffer (see `packItems`), so the main thread pays no copying per job.
import { parentPort } from 'node:worker_threads';
import { createSignatureScheme, type DomainTag } from '@bftx/crypto';
import type { VerifyJob } from './packed-items';

const scheme = createSignatureScheme('node');
const text = new TextDecoder();
parentPort!.on('message', (job: VerifyJob) => {
  const { packed, count } = job;
  const view = new DataView(packed.buffer, packed.byteOffset, packed.byteLength);
  const verdicts = new Uint8Array(count);
  let at = 0;
  for (let i = 0; i < count; i++) {
    const dl = packed[at++]!;
    const domain = text.decode(packed.subarray(at, at + dl)) as DomainTag;
    at += dl;
    const publicKey = packed.subarray(at, at + 32);
    const signature = packed.subarray(at + 32, at + 96);
    const pl = view.getUint32(at + 96);
    const payload = packed.subarray(at + 100, at + 100 + pl);
    at += 100 + pl;
    verdicts[i] = scheme.verify(publicKey, domain, payload, signature) ? 1 : 0;
  }
  parentPort!.postMessage({ id: job.id, verdicts }, [verdicts.buffer]);
});
