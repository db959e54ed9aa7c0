import { hash } from '../hash';
import { assertBytes, toHex } from '../bytes';
import { Domains } from '../domain';
import { CryptoError } from '../errors';
import type { SignatureScheme } from './scheme';

/** An Ed25519 key pair: the 32-byte secret seed and its 32-byte public key. */
export interface KeyPair {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** A fresh key pair from the platform's CSPRNG (crypto.getRandomValues). */
export function generateKeyPair(scheme: SignatureScheme): KeyPair {
  const c = (globalThis as { crypto?: { getRandomValues?: (a: Uint8Array) => Uint8Array } }).crypto;
  if (typeof c?.getRandomValues !== 'function') throw new CryptoError('BACKEND_UNAVAILABLE', 'no crypto.getRandomValues on this platform');
  const secretKey = c.getRandomValues(new Uint8Array(32));
  return { secretKey, publicKey: scheme.publicKey(secretKey) };
}

/** The key pair whose secret is `seed` (32 bytes): deterministic, for tests and simulations. */
export function keyPairFromSeed(scheme: SignatureScheme, seed: Uint8Array): KeyPair {
  assertBytes(seed, 32, 'seed');
  const secretKey = Uint8Array.from(seed);
  return { secretKey, publicKey: scheme.publicKey(secretKey) };
}

/** A stable id for a public key: hex of SHA-256 over ("bftx.key-id", key). */
export function publicKeyId(publicKey: Uint8Array): string {
  if (!(publicKey instanceof Uint8Array) || publicKey.length !== 32) {
    throw new CryptoError('INVALID_LENGTH', 'public key must be 32 bytes');
  }
  return toHex(hash(Domains.keyId, publicKey));
}
