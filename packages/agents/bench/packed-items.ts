// Signature checks as the bench's verifier pool receives them: packed once per chunk into
// shared memory, read by every replica's job without a copy.
import type { DomainTag } from '@bftx/crypto';

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
