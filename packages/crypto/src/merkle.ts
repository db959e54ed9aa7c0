import { sha256 as nobleSha256 } from '@noble/hashes/sha2.js';
import { bytesEqual } from './bytes';
import { array, fixedBytes, record, uint, type Codec } from './codec/codecs';
import { CryptoError } from './errors';
import { nodeSha256 } from './sha256';

// RFC 6962 / RFC 9162 Merkle tree hash: leaves and inner nodes get different
// prefixes, so a leaf can never be passed off as an inner node (second preimage).
const LEAF_PREFIX = 0x00;
const NODE_PREFIX = 0x01;
const EMPTY_ROOT = nobleSha256(new Uint8Array(0));

type Sha256 = ReturnType<typeof nobleSha256.create>;
// Hashers primed with each prefix, cloned into one scratch hasher per call: no hasher
// allocation per node, which matters when a state root is taken after every block.
const LEAF_BASE = nobleSha256.create().update(Uint8Array.of(LEAF_PREFIX));
const NODE_BASE = nobleSha256.create().update(Uint8Array.of(NODE_PREFIX));
let scratch: Sha256 | undefined;

const LEAF_PREFIX_BYTES = Uint8Array.of(LEAF_PREFIX);
const NODE_PREFIX_BYTES = Uint8Array.of(NODE_PREFIX);

function leafHash(leaf: Uint8Array): Uint8Array {
  const fast = nodeSha256(LEAF_PREFIX_BYTES, leaf);
  if (fast !== undefined) return fast;
  const h = (scratch = LEAF_BASE._cloneInto(scratch));
  const out = new Uint8Array(32);
  h.update(leaf).digestInto(out);
  return out;
}

function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  const fast = nodeSha256(NODE_PREFIX_BYTES, left, right);
  if (fast !== undefined) return fast;
  const h = (scratch = NODE_BASE._cloneInto(scratch));
  const out = new Uint8Array(32);
  h.update(left).update(right).digestInto(out);
  return out;
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

/** Most siblings a proof can have: a tree of up to 2^64 leaves. */
export const MAX_PROOF_DEPTH = 64;

/**
 * The canonical encoding of a MerkleProof: index, size, and the sibling hashes from the leaf up
 * (at most MAX_PROOF_DEPTH of 32 bytes). Decoding checks the shapes only; verifyMerkleProof checks the rest.
 */
export const MerkleProofCodec: Codec<MerkleProof> = record({ index: uint(), size: uint(), siblings: array(fixedBytes(32), MAX_PROOF_DEPTH) });

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

/**
 * A Merkle tree (the same RFC 9162 root as `merkleRoot`) whose leaves can be
 * appended and replaced, and whose root then costs only the changed paths:
 * O(changed leaves x log n) hashes instead of n. For state that is committed
 * after every block while only a few entries change (accounts, say).
 */
export class IncrementalMerkleTree {
  /** levels[0]: leaf hashes; levels[k][i]: the node over levels[k-1][2i], [2i+1] (an odd last node is carried up). */
  private readonly levels: Uint8Array[][] = [[]];
  private readonly dirty = new Set<number>();

  get size(): number {
    return this.levels[0]!.length;
  }

  /** Appends a leaf; returns its index. */
  push(leaf: Uint8Array): number {
    const index = this.levels[0]!.length;
    this.levels[0]!.push(leafHash(leaf));
    this.dirty.add(index);
    return index;
  }

  /** Replaces the leaf at `index`. Throws CryptoError INVALID_ARGUMENT if there is none. */
  set(index: number, leaf: Uint8Array): void {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.size) throw new CryptoError('INVALID_ARGUMENT', `leaf index ${index} is outside [0, ${this.size})`);
    this.levels[0]![index] = leafHash(leaf);
    this.dirty.add(index);
  }

  /**
   * Inclusion proof for the leaf at `index` against the current root (the same proof
   * `merkleProof` gives for the same leaves): O(log n) after the pending changes are hashed in.
   * Throws CryptoError INVALID_ARGUMENT if there is no such leaf.
   */
  proof(index: number): MerkleProof {
    if (!Number.isSafeInteger(index) || index < 0 || index >= this.size) throw new CryptoError('INVALID_ARGUMENT', `leaf index ${index} is outside [0, ${this.size})`);
    if (this.dirty.size > 0) this.root();
    const siblings: Uint8Array[] = [];
    let i = index;
    for (let k = 0; this.levels[k]!.length > 1; k++) {
      // An odd last node is carried up unchanged: no sibling at this level.
      const sibling = this.levels[k]![i ^ 1];
      if (sibling !== undefined) siblings.push(sibling.slice());
      i >>>= 1;
    }
    return { index, size: this.size, siblings };
  }

  root(): Uint8Array {
    const leaves = this.levels[0]!;
    if (leaves.length === 0) return EMPTY_ROOT.slice();
    let changed = [...this.dirty];
    this.dirty.clear();
    let k = 0;
    while (this.levels[k]!.length > 1) {
      const below = this.levels[k]!;
      const above = (this.levels[k + 1] ??= []);
      const parents = new Set<number>();
      for (const i of changed) parents.add(i >>> 1);
      for (const p of parents) {
        const right = below[2 * p + 1];
        above[p] = right === undefined ? below[2 * p]! : nodeHash(below[2 * p]!, right);
      }
      changed = [...parents];
      k++;
    }
    return this.levels[k]![0]!.slice();
  }
}
