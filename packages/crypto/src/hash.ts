import { sha256 as nobleSha256, sha512 as nobleSha512 } from '@noble/hashes/sha2.js';
import { toHex } from './bytes';
import { taggedPrefix } from './domain';

/** SHA-256 digest (32 bytes). */
export function sha256(data: Uint8Array): Uint8Array {
  return nobleSha256(data);
}

/** SHA-512 digest (64 bytes). */
export function sha512(data: Uint8Array): Uint8Array {
  return nobleSha512(data);
}

/**
 * The id of a thing: SHA-256 over (tag, bytes). The tag separates kinds, so a
 * block's id can never equal an order's id for the same bytes.
 */
export function hash(tag: string, data: Uint8Array): Uint8Array {
  const h = nobleSha256.create();
  h.update(taggedPrefix('bftx-hash', tag));
  h.update(data);
  return h.digest();
}

/** `hash` over the concatenation of `parts`, without building it. */
export function hashParts(tag: string, parts: readonly Uint8Array[]): Uint8Array {
  const h = nobleSha256.create();
  h.update(taggedPrefix('bftx-hash', tag));
  for (let i = 0; i < parts.length; i++) h.update(parts[i]!);
  return h.digest();
}

/** `hash` as lowercase hex. */
export function hashHex(tag: string, data: Uint8Array): string {
  return toHex(hash(tag, data));
}
