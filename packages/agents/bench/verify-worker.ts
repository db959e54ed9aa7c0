// One worker of the bench's verifier pool: checks client signatures with the node backend,
// the same scheme a replica uses, and answers one byte per item (1 = valid). Items come
// packed in a SharedArrayBuffer (see `packItems`), so the main thread pays no copying per job.
import { parentPort } from 'node:worker_threads';
import { createSignatureScheme, type DomainTag } from '@bftx/crypto';

export interface VerifyJob {
  readonly id: number;
  readonly packed: Uint8Array;
  readonly count: number;
}

export interface VerifyItem {
  readonly publicKey: Uint8Array;
  readonly domain: DomainTag;
  readonly payload: Uint8Array;
  readonly signature: Uint8Array;
}

/** Items as bytes: per item, domain length (1 byte), domain, public key (32), signature (64), payload length (4, big-endian), payload. */
export function packItems(items: readonly VerifyItem[]): Uint8Array {
  const text = new TextEncoder();
  const domains = items.map((it) => text.encode(it.domain));
  const size = items.reduce((n, it, i) => n + 1 + domains[i]!.length + 32 + 64 + 4 + it.payload.length, 0);
  const out = new Uint8Array(new SharedArrayBuffer(size));
  const view = new DataView(out.buffer);
  let at = 0;
  items.forEach((it, i) => {
    out[at++] = domains[i]!.length;
    out.set(domains[i]!, at);
    at += domains[i]!.length;
    out.set(it.publicKey, at);
    out.set(it.signature, at + 32);
    view.setUint32(at + 96, it.payload.length);
    out.set(it.payload, at + 100);
    at += 100 + it.payload.length;
  });
  return out;
}

const scheme = createSignatureScheme('node');
const text = new TextDecoder();
parentPort?.on('message', (job: VerifyJob) => {
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
