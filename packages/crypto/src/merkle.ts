import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { bytesEqual } from './bytes';
import { CryptoError } from './errors';

// RFC 6962 / RFC 9162 Merkle tree hash: leaves and inner nodes get different
// prefixes, so a leaf can never be passed off as an inner node (second preimage).
const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;
const EMPTY_ROOT = nobleSha256(new Uint8Array(0));

function leafHash(leaf: Uint8Array): Uint8Array {
  return nobleSha256.create().update(Uint8Array.of(LEAF_PREFIX)).update(leaf).digest();
}

function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  return nobleSha256.create().update(Uint8Array.of(NODE_PREFIX)).update(left).update(right).digest();
}

/** Largest power of two strictly below n (n >= 2). */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

/** Merkle root of a list of byte strings (RFC 9162 section 2.1.1). The empty list has root SHA-256(""). */
export function merkleRoot(leaves: readonly Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return EMPTY_ROOT.slice();
  // Bottom-up over levels gives the same tree as the recursive definition:
  // an odd node at the end of a level is carried up unchanged.
  let level = leaves.map(leafHash);
  while (level.length > 1) {
    const next: Uint8Array[] = [];
    for (let i = 0; i + 1 < level.length; i += 2) next.push(nodeHash(level[i]!, level[i + 1]!));
    if (level.length % 2 === 1) next.push(level[level.length - 1]!);
    level = next;
  }
  return level[0]!;
}

/** Proof that the leaf at `index` is in a tree of `size` leaves: sibling hashes from the leaf up. */
export interface MerkleProof {
  readonly index: number;
  readonly size: number;
  readonly siblings: readonly Uint8Array[];
}

/** Inclusion proof for `leaves[index]`. Throws CryptoError INVALID_ARGUMENT if index is out of range. */
export function merkleProof(leaves: readonly Uint8Array[], index: number): MerkleProof {
  if (!Number.isSafeInteger(index) || index < 0 || index >= leaves.length) {
    throw new CryptoError('INVALID_ARGUMENT', `leaf index ${index} is outside [0, ${leaves.length})`);
  }
  const siblings: Uint8Array[] = [];
  const hashes = leaves.map(leafHash);
  const walk = (lo: number, hi: number): Uint8Array => {
    if (hi - lo === 1) return hashes[lo]!;
    const k = splitPoint(hi - lo);
    return nodeHash(walk(lo, lo + k), walk(lo + k, hi));
  };
  // Descend toward the leaf, recording the root of the other half at each step (top-down), then reverse.
  let lo = 0;
  let hi = leaves.length;
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (index < lo + k) {
      siblings.push(walk(lo + k, hi));
      hi = lo + k;
    } else {
      siblings.push(walk(lo, lo + k));
      lo = lo + k;
    }
  }
  return { index, size: leaves.length, siblings: siblings.reverse() };
}

/**
 * True iff `proof` shows `leaf` at `proof.index` in a tree of `proof.size`
 * leaves with root `root` (RFC 9162 section 2.1.3.2). Never throws on a malformed proof.
 */
export function verifyMerkleProof(root: Uint8Array, leaf: Uint8Array, proof: MerkleProof): boolean {
  const { index, size, siblings } = proof;
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return false;
  if (!Array.isArray(siblings)) return false;
  let fn = index;
  let sn = size - 1;
  let r = leafHash(leaf);
  for (const p of siblings) {
    if (!(p instanceof Uint8Array) || p.length !== 32) return false;
    if (sn === 0) return false;
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r);
      if (fn % 2 === 0) {
        while (fn % 2 === 0 && fn !== 0) {
          fn = Math.floor(fn / 2);
          sn = Math.floor(sn / 2);
        }
      }
    } else {
      r = nodeHash(r, p);
    }
    fn = Math.floor(fn / 2);
    sn = Math.floor(sn / 2);
  }
  return sn === 0 && root instanceof Uint8Array && bytesEqual(r, root);
}
