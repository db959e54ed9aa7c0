import fc from 'fast-check';
import { createHash } from 'node:crypto';
import { CryptoError, decode, encode, fromHex, IncrementalMerkleTree, merkleProof, MerkleProofCodec, merkleRoot, toHex, verifyMerkleProof, type MerkleProof } from '../src/index';

// Reference: the recursive definition of RFC 9162 section 2.1.1, written independently with node:crypto.
function refRoot(leaves: Uint8Array[]): Uint8Array {
  const h = (...parts: Uint8Array[]) => {
    const c = createHash('sha256');
    for (const p of parts) c.update(p);
    return new Uint8Array(c.digest());
  };
  const mth = (d: Uint8Array[]): Uint8Array => {
    if (d.length === 0) return h();
    if (d.length === 1) return h(Uint8Array.of(0), d[0]!);
    let k = 1;
    while (k * 2 < d.length) k *= 2;
    return h(Uint8Array.of(1), mth(d.slice(0, k)), mth(d.slice(k)));
  };
  return mth(leaves);
}

const arbLeaves = fc.array(fc.uint8Array({ maxLength: 40 }), { minLength: 1, maxLength: 70 });

describe('merkleRoot', () => {
  test('matches the RFC 6962 test tree (certificate transparency vectors)', () => {
    const leaves = ['', '00', '10', '2021', '3031', '40414243', '5051525354555657', '606162636465666768696a6b6c6d6e6f'].map(fromHex);
    expect(toHex(merkleRoot([]))).toBe('e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855');
    expect(toHex(merkleRoot(leaves.slice(0, 1)))).toBe('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d');
    expect(toHex(merkleRoot(leaves))).toBe('5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328');
  });

  test('equals the recursive reference for any list', () => {
    fc.assert(fc.property(arbLeaves, (leaves) => expect(merkleRoot(leaves)).toEqual(refRoot(leaves))), { numRuns: bftxRuns(300) });
  });

  test('changes when any leaf changes, is added, or the order changes', () => {
    const leaves = [1, 2, 3, 4, 5].map((i) => Uint8Array.of(i));
    const root = toHex(merkleRoot(leaves));
    expect(toHex(merkleRoot([...leaves.slice(0, 4), Uint8Array.of(6)]))).not.toBe(root);
    expect(toHex(merkleRoot([...leaves, Uint8Array.of(6)]))).not.toBe(root);
    expect(toHex(merkleRoot([leaves[1]!, leaves[0]!, ...leaves.slice(2)]))).not.toBe(root);
  });
});

describe('Merkle inclusion proofs', () => {
  test('every leaf of every tree size 1..40 has a proof that verifies', () => {
    for (let size = 1; size <= 40; size++) {
      const leaves = Array.from({ length: size }, (_, i) => Uint8Array.of(i, size));
      const root = merkleRoot(leaves);
      for (let i = 0; i < size; i++) expect(verifyMerkleProof(root, leaves[i]!, merkleProof(leaves, i))).toBe(true);
    }
  });

  test('a tampered proof, leaf, index, size or root never verifies', () => {
    fc.assert(
      fc.property(arbLeaves, fc.nat(), fc.nat(), fc.integer({ min: 0, max: 7 }), (leaves, rawIndex, pick, bit) => {
        const index = rawIndex % leaves.length;
        const root = merkleRoot(leaves);
        const proof = merkleProof(leaves, index);
        const leaf = leaves[index]!;
        expect(verifyMerkleProof(root, leaf, proof)).toBe(true);

        const flip = (b: Uint8Array, at: number) => {
          const c = b.slice();
          c[at % c.length]! ^= 1 << bit;
          return c;
        };
        if (proof.siblings.length > 0) {
          const s = pick % proof.siblings.length;
          const siblings = proof.siblings.map((x, i) => (i === s ? flip(x, pick) : x));
          expect(verifyMerkleProof(root, leaf, { ...proof, siblings })).toBe(false);
          expect(verifyMerkleProof(root, leaf, { ...proof, siblings: proof.siblings.slice(1) })).toBe(false);
        }
        expect(verifyMerkleProof(root, leaf, { ...proof, siblings: [...proof.siblings, new Uint8Array(32)] })).toBe(false);
        expect(verifyMerkleProof(flip(root, pick), leaf, proof)).toBe(false);
        expect(verifyMerkleProof(root, Uint8Array.of(...leaf, 0), proof)).toBe(false);
        // Another index or size is accepted only when the leaf really is there (duplicate leaves).
        const otherIndex = (index + 1 + (pick % leaves.length)) % leaves.length;
        if (otherIndex !== index && toHex(leaves[otherIndex]!) !== toHex(leaf)) {
          expect(verifyMerkleProof(root, leaf, { ...proof, index: otherIndex })).toBe(false);
        }
        expect(verifyMerkleProof(root, leaf, { ...proof, index: proof.size })).toBe(false);
      }),
      { numRuns: bftxRuns(300) },
    );
  });

  test('the tree size is not authenticated by the proof: it must come from the same trusted source as the root', () => {
    // Known property of RFC 9162 proofs, pinned here so nobody relies on the opposite:
    // the last leaf of a 3-leaf tree has the same path shape in a claimed 4-leaf tree.
    const leaves = [Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3)];
    const proof = merkleProof(leaves, 0);
    expect(verifyMerkleProof(merkleRoot(leaves), leaves[0]!, { ...proof, size: 4 })).toBe(true);
    expect(verifyMerkleProof(merkleRoot(leaves), leaves[0]!, { ...proof, size: 2 })).toBe(false);
  });

  test('malformed proofs give false, never a throw', () => {
    const leaves = [Uint8Array.of(1), Uint8Array.of(2), Uint8Array.of(3)];
    const root = merkleRoot(leaves);
    const good = merkleProof(leaves, 1);
    const bad: unknown[] = [
      { ...good, index: -1 },
      { ...good, index: 1.5 },
      { ...good, size: 0 },
      { ...good, siblings: null },
      { ...good, siblings: [new Uint8Array(31), ...good.siblings.slice(1)] },
      { ...good, siblings: ['x', ...good.siblings.slice(1)] },
    ];
    for (const p of bad) expect(verifyMerkleProof(root, leaves[1]!, p as MerkleProof)).toBe(false);
  });

  test('a proof for an index out of range is a CryptoError', () => {
    expect(() => merkleProof([Uint8Array.of(1)], 1)).toThrow(CryptoError);
    expect(() => merkleProof([], 0)).toThrow(CryptoError);
  });
});

describe('IncrementalMerkleTree', () => {
  const arbOps = fc.array(
    fc.oneof(
      fc.record({ op: fc.constant('push' as const), leaf: fc.uint8Array({ maxLength: 20 }) }),
      fc.record({ op: fc.constant('set' as const), at: fc.nat(), leaf: fc.uint8Array({ maxLength: 20 }) }),
      fc.record({ op: fc.constant('root' as const) }),
    ),
    { maxLength: 120 },
  );

  test('its root equals merkleRoot of its leaves after any pushes and replacements', () => {
    fc.assert(
      fc.property(arbOps, (ops) => {
        const tree = new IncrementalMerkleTree();
        const leaves: Uint8Array[] = [];
        for (const o of ops) {
          if (o.op === 'push') expect(tree.push(o.leaf)).toBe(leaves.push(o.leaf) - 1);
          else if (o.op === 'set' && leaves.length > 0) {
            tree.set(o.at % leaves.length, o.leaf);
            leaves[o.at % leaves.length] = o.leaf;
          } else expect(tree.root()).toEqual(refRoot(leaves));
        }
        expect(tree.size).toBe(leaves.length);
        expect(tree.root()).toEqual(refRoot(leaves));
      }),
      { numRuns: bftxRuns(300) },
    );
  });

  test('an empty tree has the empty root; a bad index is a typed error and changes nothing', () => {
    const tree = new IncrementalMerkleTree();
    expect(tree.root()).toEqual(merkleRoot([]));
    tree.push(Uint8Array.of(1));
    const root = tree.root();
    for (const i of [-1, 1, 0.5, Number.NaN]) expect(() => tree.set(i, Uint8Array.of(2))).toThrow(CryptoError);
    expect(tree.root()).toEqual(root);
  });
});

describe('IncrementalMerkleTree proofs', () => {
  // Reference: the shape of an RFC 9162 audit path, from the recursive definition: for each
  // sibling from the leaf up, whether it is on the left.
  function pathShape(index: number, size: number): boolean[] {
    const out: boolean[] = [];
    let lo = 0;
    let hi = size;
    while (hi - lo > 1) {
      let k = 1;
      while (k * 2 < hi - lo) k *= 2;
      if (index < lo + k) {
        out.push(false);
        hi = lo + k;
      } else {
        out.push(true);
        lo += k;
      }
    }
    return out.reverse();
  }
  const flip = (b: Uint8Array, bit: number): Uint8Array => {
    const c = b.slice();
    c[(bit >>> 3) % c.length]! ^= 1 << (bit & 7);
    return c;
  };

  const arbCase = fc.record({
    leaves: fc.array(fc.uint8Array({ minLength: 1, maxLength: 12 }), { minLength: 1, maxLength: 300 }),
    updates: fc.array(fc.record({ at: fc.nat(), leaf: fc.uint8Array({ minLength: 1, maxLength: 12 }) }), { maxLength: 20 }),
    bit: fc.nat(),
    delta: fc.integer({ min: 1, max: 300 }),
  });

  test('every proof verifies against the root; any one flipped bit, another index or a differently shaped size fails', () => {
    fc.assert(
      fc.property(arbCase, ({ leaves: initial, updates, bit, delta }) => {
        const leaves = initial.slice();
        const tree = new IncrementalMerkleTree();
        for (const l of leaves) tree.push(l);
        tree.root();
        for (const u of updates) {
          tree.set(u.at % leaves.length, u.leaf);
          leaves[u.at % leaves.length] = u.leaf;
        }
        // proof() hashes the pending updates in itself: no root() call before it.
        const first = tree.proof(0);
        const root = tree.root();
        expect(first).toEqual(merkleProof(leaves, 0));
        for (let i = 0; i < leaves.length; i++) {
          const p = tree.proof(i);
          expect(verifyMerkleProof(root, leaves[i]!, p)).toBe(true);
          expect(p).toEqual(merkleProof(leaves, i));
          expect(decode(MerkleProofCodec, encode(MerkleProofCodec, p))).toEqual(p);
          expect(verifyMerkleProof(root, flip(leaves[i]!, bit + i), p)).toBe(false);
          expect(verifyMerkleProof(flip(root, bit + i), leaves[i]!, p)).toBe(false);
          p.siblings.forEach((_, s) => {
            const siblings = p.siblings.slice();
            siblings[s] = flip(siblings[s]!, bit + s);
            expect(verifyMerkleProof(root, leaves[i]!, { ...p, siblings })).toBe(false);
          });
          const other = (i + delta) % leaves.length;
          if (other !== i) expect(verifyMerkleProof(root, leaves[i]!, { ...p, index: other })).toBe(false);
          // RFC 9162 binds the size only through the path's shape: a size with the same shape
          // (index 0 of 3 and of 4 leaves) proves the same leaf at the same index; any other fails.
          const size = p.size + delta;
          const sameShape = i < size && JSON.stringify(pathShape(i, size)) === JSON.stringify(pathShape(i, p.size));
          expect(verifyMerkleProof(root, leaves[i]!, { ...p, size })).toBe(sameShape);
          if (p.size - delta > i) expect(verifyMerkleProof(root, leaves[i]!, { ...p, size: p.size - delta })).toBe(JSON.stringify(pathShape(i, p.size - delta)) === JSON.stringify(pathShape(i, p.size)));
        }
      }),
      { numRuns: bftxRuns(60) },
    );
  });

  test('a proof of a leaf that is not there is a typed error; the codec refuses a too-deep proof', () => {
    const tree = new IncrementalMerkleTree();
    expect(() => tree.proof(0)).toThrow(CryptoError);
    tree.push(Uint8Array.of(1));
    expect(tree.proof(0)).toEqual({ index: 0, size: 1, siblings: [] });
    expect(() => tree.proof(1)).toThrow(CryptoError);
    expect(() => encode(MerkleProofCodec, { index: 0, size: 1, siblings: Array.from({ length: 65 }, () => new Uint8Array(32)) })).toThrow();
  });
});
