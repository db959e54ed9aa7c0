import fc from 'fast-check';
import { hash, hashParts, IncrementalMerkleTree, merkleProof, merkleRoot, sha256, toHex, verifyMerkleProof } from '../src/index';
import { sha256Backend, useSha256Backend } from '../src/sha256';

// Under Node short hashes go through node:crypto's one-shot hash; in browsers through noble. Every
// digest must be the same bytes either way (ids, payload roots and state roots are agreed on by
// replicas that may run either).
function bothWays<T>(f: () => T): [T, T] {
  useSha256Backend('node');
  const viaNode = f();
  useSha256Backend('noble');
  try {
    return [viaNode, f()];
  } finally {
    useSha256Backend('node');
  }
}

const bytes = (max: number) => fc.uint8Array({ minLength: 0, maxLength: max });
// Sizes around SHA-256's 64-byte blocks and the 16 KiB scratch buffer, and beyond it.
const sized = fc.oneof(bytes(200), fc.constantFrom(55, 56, 63, 64, 65, 16_383, 16_384, 16_385, 70_000).map((n) => new Uint8Array(n).map((_, i) => (i * 31 + n) & 0xff)));

describe('SHA-256: node:crypto and noble give the same digests', () => {
  test('under Node the node:crypto backend is the one in use', () => {
    expect(sha256Backend()).toBe('node');
  });

  test('sha256, hash and hashParts agree on generated inputs', () => {
    fc.assert(
      fc.property(sized, fc.constantFrom('bftx.block', 'bftx.order', 'a'), fc.array(bytes(100), { maxLength: 6 }), (data, tag, parts) => {
        const [a, b] = bothWays(() => [sha256(data), hash(tag, data), hashParts(tag, parts), hashParts(tag, [data, ...parts])].map(toHex));
        expect(a).toEqual(b);
      }),
      { numRuns: 200 },
    );
  });

  test('Merkle roots, proofs and the incremental tree agree', () => {
    fc.assert(
      fc.property(fc.array(bytes(300), { minLength: 0, maxLength: 40 }), (leaves) => {
        const [a, b] = bothWays(() => {
          const tree = new IncrementalMerkleTree();
          for (const leaf of leaves) tree.push(leaf);
          const proofs = leaves.map((_, i) => merkleProof(leaves, i));
          return { root: toHex(merkleRoot(leaves)), tree: toHex(tree.root()), proofs: proofs.map((p) => p.siblings.map(toHex)) };
        });
        expect(a).toEqual(b);
        expect(a.tree).toBe(a.root);
        // A proof made under one backend verifies under the other.
        if (leaves.length > 0) {
          const proofMadeViaNode = merkleProof(leaves, leaves.length - 1);
          const rootViaNode = merkleRoot(leaves);
          useSha256Backend('noble');
          try {
            expect(verifyMerkleProof(rootViaNode, leaves[leaves.length - 1]!, proofMadeViaNode)).toBe(true);
          } finally {
            useSha256Backend('node');
          }
        }
      }),
      { numRuns: 150 },
    );
  });

  test('a digest is a fresh array: the scratch buffer is never handed out', () => {
    const a = hash('bftx.block', new Uint8Array([1]));
    const copy = a.slice();
    hash('bftx.block', new Uint8Array([2]));
    expect(a).toEqual(copy);
    expect(a.buffer.byteLength).toBe(32);
  });

  test('what is not bytes is refused under either backend, as noble refuses it', () => {
    for (const bad of ['abc', [0, 0, 0], new Uint16Array(3), new DataView(new ArrayBuffer(3))]) {
      const [a, b] = bothWays(() => {
        try {
          return toHex(sha256(bad as unknown as Uint8Array));
        } catch {
          return 'refused';
        }
      });
      expect(a).toBe('refused');
      expect(b).toBe('refused');
    }
  });
});
