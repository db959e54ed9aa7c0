// PBFT's commit certificate for a ledger block. Commits sign a batch's digest (the batch is a block
// whose parent is all zeros: it is bound to a sequence number, not to a chain), and the runtime's
// ledger block for sequence n is the same header with the hash of ledger block n-1 as parent
// (Pbft.execute). So a quorum of commits proves a batch, not the ledger block's hash; what proves
// that is a chain: a stable checkpoint (a quorum of checkpoint signatures on the ledger block hash at
// sequence c; genesis for c = 0), then for each sequence c+1..n the ledger header (its parent the hash
// of the one before) with a quorum of commits, of one view, for the batch digest that header implies.
// The last header's block is final. Its length is at most the watermark window L (n - c <= L: no batch
// above c + L commits), and 0 when the block is the checkpoint's own.
import { blockHash, BlockHeaderCodec, GENESIS, signatureSet, SignatureSetCodec, signatureSetProblem, statementsOf, thinSignatureSet, type BlockHeader, type CommitCheck, type SignedStatement, type ValidatorSet } from '@bftx/consensus';
import { bytesEqual, codec, encode, tryDecode, type SignatureScheme } from '@bftx/crypto';
import { PbftDomains } from './messages';

/** Most links a PBFT certificate may carry (a bound on the codec; the window L bounds what a replica builds). */
export const MAX_CERTIFICATE_LINKS = 4096;

export const PbftCertificateCodec = codec.record({
  checkpoint: codec.record({ sequence: codec.uint(), digest: codec.fixedBytes(32), signatures: SignatureSetCodec }),
  links: codec.array(codec.record({ header: BlockHeaderCodec, commitView: codec.uint(), commits: SignatureSetCodec }), MAX_CERTIFICATE_LINKS),
});
export type PbftCertificate = codec.Infer<typeof PbftCertificateCodec>;

const ZERO_HASH = new Uint8Array(32);

/** The digest of the batch a ledger header was executed from (what PBFT's commits sign). */
export function batchDigest(header: BlockHeader): Uint8Array {
  return blockHash({ parent: ZERO_HASH, height: header.height, view: header.view, proposer: header.proposer, payloadRoot: header.payloadRoot });
}

/** One executed sequence number: its ledger header and the quorum of commits for its batch. */
export interface CertifiedSequence {
  readonly header: BlockHeader;
  readonly commits: readonly SignedStatement[];
}

/** Encodes the certificate of the last of `links` (or of the checkpoint's block when there are none). */
export function pbftCertificate(checkpoint: { readonly sequence: number; readonly digest: Uint8Array; readonly statements: readonly SignedStatement[] }, links: readonly CertifiedSequence[], n: number): Uint8Array {
  return encode(PbftCertificateCodec, {
    checkpoint: { sequence: checkpoint.sequence, digest: checkpoint.digest, signatures: signatureSet(checkpoint.statements, n) },
    links: links.map((l) => ({ header: l.header, commitView: l.commits[0]?.view ?? 0, commits: signatureSet(l.commits, n) })),
  });
}

/**
 * Checks a PBFT certificate with the validator keys alone: the checkpoint (a quorum of valid
 * checkpoint signatures on its digest at its sequence; genesis with none at 0), then each link at
 * the next height, its parent the hash of the block below, with a quorum of valid commits of view
 * `commitView` on its batch digest at its height. The last block is final. Never throws.
 */
export function verifyPbftCommit(certificate: Uint8Array, validators: ValidatorSet, scheme: SignatureScheme): CommitCheck {
  try {
    const decoded = tryDecode(PbftCertificateCodec, certificate);
    if (!decoded.ok) return { ok: false, reason: `malformed certificate: ${decoded.error.message}` };
    const { checkpoint, links } = decoded.value;
    const statements: SignedStatement[] = [];
    if (checkpoint.sequence === 0) {
      if (!bytesEqual(checkpoint.digest, GENESIS.hash)) return { ok: false, reason: 'a checkpoint at sequence 0 that is not genesis' };
      if (checkpoint.signatures.signatures.length !== 0 || checkpoint.signatures.signers.length !== Math.ceil(validators.n / 8) || checkpoint.signatures.signers.some((b) => b !== 0)) return { ok: false, reason: 'the genesis checkpoint carries signatures' };
    } else {
      const fields = { domain: PbftDomains.checkpoint, view: 0, sequence: checkpoint.sequence, blockHash: checkpoint.digest };
      const problem = signatureSetProblem(checkpoint.signatures, fields, validators, scheme);
      if (problem !== undefined) return { ok: false, reason: `checkpoint ${checkpoint.sequence}: ${problem}` };
      statements.push(...statementsOf(checkpoint.signatures, fields));
    }
    let height = checkpoint.sequence;
    let hash = checkpoint.digest;
    for (const link of links) {
      const h = link.header;
      if (h.height !== height + 1) return { ok: false, reason: `a link at height ${h.height} after height ${height}` };
      if (!bytesEqual(h.parent, hash)) return { ok: false, reason: `the block at height ${h.height} does not extend the block below it` };
      const fields = { domain: PbftDomains.commit, view: link.commitView, sequence: h.height, blockHash: batchDigest(h) };
      const problem = signatureSetProblem(link.commits, fields, validators, scheme);
      if (problem !== undefined) return { ok: false, reason: `commits for sequence ${h.height}: ${problem}` };
      statements.push(...statementsOf(link.commits, fields));
      height = h.height;
      hash = blockHash(h);
    }
    return { ok: true, height, blockHash: hash, statements };
  } catch (e) {
    return { ok: false, reason: `malformed certificate: ${String(e)}` };
  }
}

/** The certificate with every signature set cut to its first `keep` signers (ByzantineHooks.thinCertificate). */
export function thinPbftCertificate(certificate: Uint8Array, keep: number): Uint8Array | undefined {
  const decoded = tryDecode(PbftCertificateCodec, certificate);
  if (!decoded.ok) return undefined;
  const { checkpoint, links } = decoded.value;
  return encode(PbftCertificateCodec, {
    checkpoint: { ...checkpoint, signatures: thinSignatureSet(checkpoint.signatures, keep) },
    links: links.map((l) => ({ ...l, commits: thinSignatureSet(l.commits, keep) })),
  });
}
