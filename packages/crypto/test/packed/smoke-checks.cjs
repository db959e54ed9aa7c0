// The checks both smoke scripts run, on the module they loaded (ESM or CJS build).
// Run alone, this file does nothing.
const assert = require('node:assert/strict');

module.exports = function smokeChecks({ codec, createSignatureScheme, decode, encode, merkleProof, merkleRoot, utf8, verifyMerkleProof }) {
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
};
