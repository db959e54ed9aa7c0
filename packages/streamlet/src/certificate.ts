// Streamlet's commit certificate: three adjacent notarized blocks with consecutive views (the
// paper's finality rule, §3) finalize the middle one and its prefix. The headers of the three
// (lowest first, each the parent of the next) and the notarization (a quorum of votes) of each;
// genesis, when it is the first, needs none. `verifyStreamletCommit` checks it with the keys alone.
import { checkVoteChain, encodeVoteChain, GENESIS, noSignatures, signatureSet, type Block, type CommitCheck, type SignedStatement, type ValidatorSet } from '@bftx/consensus';
import { Domains, type SignatureScheme } from '@bftx/crypto';

/** The certificate that the middle one of `blocks` is final: the three with their notarizations (genesis's is ignored). */
export function streamletCertificate(blocks: readonly [Block, Block, Block], notarizations: readonly (readonly SignedStatement[])[], n: number): Uint8Array {
  return encodeVoteChain(
    blocks,
    blocks.map((b, i) => (b.id === GENESIS.id ? noSignatures(n) : signatureSet(notarizations[i] ?? [], n))),
  );
}

/**
 * Streamlet's finality rule on a certificate: three headers linked by hashes at consecutive heights
 * with consecutive views, each notarized by a quorum of valid `bftx.vote` signatures for its view
 * (genesis excepted). The middle block is final. Never throws.
 */
export function verifyStreamletCommit(certificate: Uint8Array, validators: ValidatorSet, scheme: SignatureScheme): CommitCheck {
  try {
    const chain = checkVoteChain(certificate, 3, Domains.vote, validators, scheme);
    if (typeof chain === 'string') return { ok: false, reason: chain };
    return { ok: true, height: chain.headers[1]!.height, blockHash: chain.hashes[1]!, statements: chain.statements };
  } catch (e) {
    return { ok: false, reason: `malformed certificate: ${String(e)}` };
  }
}
