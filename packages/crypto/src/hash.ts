import { sha256 as nobleSha256, sha512 as nobleSha512 } from '@noble/hashes/sha2.js';
import { toHex } from './bytes';
import { taggedPrefix } from './domain';
import { nodeSha256, nodeSha256Parts } from './sha256';

const NO_PREFIX = new Uint8Array(0);

/** SHA-256 digest (32 bytes). */
export function sha256(data: Uint8Array): Uint8Array {
  return nodeSha256(NO_PREFIX, data) ?? nobleSha256(data);
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
  const fast = nodeSha256(taggedPrefix('bftx-hash', tag), data);
  if (fast !== undefined) return fast;
  const h = primedHasher(tag);
  h.update(data);
  const out = new Uint8Array(32);
  h.digestInto(out);
  return out;
}

/** `hash` over the concatenation of `parts`, without building it. */
export function hashParts(tag: string, parts: readonly Uint8Array[]): Uint8Array {
  const fast = nodeSha256Parts(taggedPrefix('bftx-hash', tag), parts);
  if (fast !== undefined) return fast;
  const h = primedHasher(tag);
  for (let i = 0; i < parts.length; i++) h.update(parts[i]!);
  const out = new Uint8Array(32);
  h.digestInto(out);
  return out;
}

type Sha256 = ReturnType<typeof nobleSha256.create>;
/** One hasher per tag that has absorbed the tag's prefix (tags are a small fixed set). */
const primed = new Map<string, Sha256>();
let scratch: Sha256 | undefined;

/**
 * A hasher that has absorbed `tag`'s prefix, cloned into one reused scratch hasher:
 * ids are hashed on every message, and a fresh hasher per call is most of the cost
 * for short inputs. Callers finish with it before the next call (nothing here re-enters).
 */
function primedHasher(tag: string): Sha256 {
  let base = primed.get(tag);
  if (base === undefined) {
    base = nobleSha256.create().update(taggedPrefix('bftx-hash', tag));
    primed.set(tag, base);
  }
  return (scratch = base._cloneInto(scratch));
}

/** `hash` as lowercase hex. */
export function hashHex(tag: string, data: Uint8Array): string {
  return toHex(hash(tag, data));
}
