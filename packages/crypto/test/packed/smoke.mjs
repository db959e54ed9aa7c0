// Runs against the packed, installed @bftx/crypto (tools/check-packages.mjs), as ESM.
import assert from 'node:assert/strict';
import { codec, createSignatureScheme, decode, encode, merkleProof, merkleRoot, utf8, verifyMerkleProof } from '@bftx/crypto';

for (const backend of ['noble', 'node']) {
  const scheme = createSignatureScheme(backend);
  const signer = scheme.signer(new Uint8Array(32).fill(3));
  const sig = signer.sign('bftx.vote', utf8('hello'));
  assert.equal(scheme.verify(signer.publicKey, 'bftx.vote', utf8('hello'), sig), true);
  assert.equal(scheme.verify(signer.publicKey, 'bftx.block', utf8('hello'), sig), false);
}
const Vote = codec.record({ height: codec.uint(), block: codec.fixedBytes(32) });
const v = { height: 7, block: new Uint8Array(32).fill(1) };
assert.deepEqual(decode(Vote, encode(Vote, v)), v);
const leaves = [utf8('a'), utf8('b'), utf8('c')];
assert.equal(verifyMerkleProof(merkleRoot(leaves), leaves[2], merkleProof(leaves, 2)), true);
