import { Domains, type SignatureScheme } from '../src/index';

export interface SignedItem {
  publicKey: Uint8Array;
  payload: Uint8Array;
  signature: Uint8Array;
}

/** `count` signatures by `count` distinct keys over distinct 100-byte payloads (deterministic). */
export function makeSignedBatch(scheme: SignatureScheme, count: number): SignedItem[] {
  return Array.from({ length: count }, (_, i) => {
    const signer = scheme.signer(new Uint8Array(32).fill(i + 1));
    const payload = new Uint8Array(100).fill(i);
    return { publicKey: signer.publicKey, payload, signature: signer.sign(Domains.vote, payload) };
  });
}
