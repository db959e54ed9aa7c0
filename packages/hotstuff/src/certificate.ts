// HotStuff's commit certificate: the three-chain that committed a block. Blocks b <- b' <- b''
// (each the parent of the next, views consecutive) and the QC of each: QC(b) and QC(b') are the
// justifies b' and b'' carry, QC(b'') the one whose arrival committed b. A light client checks it
// with the validator keys alone (`verifyHotStuffCommit`); b is final.
import { checkVoteChain, encodeVoteChain, qcSignatures, type Block, type CommitCheck, type QuorumCertificate, type ValidatorSet } from '@bftx/consensus';
import { Domains, type SignatureScheme } from '@bftx/crypto';

/** The certificate that `b` is final: b, b', b'' lowest first, with QC(b), QC(b'), QC(b''). */
export function hotStuffCertificate(b: Block, b1: Block, b2: Block, qcB: QuorumCertificate, qcB1: QuorumCertificate, qcB2: QuorumCertificate): Uint8Array {
  return encodeVoteChain([b, b1, b2], [qcSignatures(qcB), qcSignatures(qcB1), qcSignatures(qcB2)]);
}

/**
 * The three-chain rule on a certificate: three headers linked by hashes at consecutive heights with
 * consecutive views, each certified by a quorum of valid `bftx.vote` signatures for its view (the
 * validator set's quorum). The first block is the one final. Never throws.
 */
export function verifyHotStuffCommit(certificate: Uint8Array, validators: ValidatorSet, scheme: SignatureScheme): CommitCheck {
  try {
    const chain = checkVoteChain(certificate, 3, Domains.vote, validators, scheme);
    if (typeof chain === 'string') return { ok: false, reason: chain };
    return { ok: true, height: chain.headers[0]!.height, blockHash: chain.hashes[0]!, statements: chain.statements };
  } catch (e) {
    return { ok: false, reason: `malformed certificate: ${String(e)}` };
  }
}
