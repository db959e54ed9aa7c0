// What the tests that drive one replica by hand share: four validators with simulated signatures,
// delta 10 ms (views of 21 ms), and signed proposals and votes for any block.
import { signStatement, SimulatedSignatureScheme, ValidatorSet, type Block, type SignedStatement } from '@bftx/consensus';
import { Domains } from '@bftx/crypto';
import type { StreamletMessage } from '../src/index';

export const DELTA = 10;
export const VIEW = 2 * DELTA + 1;
export const N = 4;
export const scheme = new SimulatedSignatureScheme();
export const signers = Array.from({ length: N }, (_, i) => scheme.signer(scheme.keyPair(i).secretKey));
export const validators = new ValidatorSet(signers.map((s) => s.publicKey));

/** The proposal message of `b`, signed by `by` (its proposer unless told otherwise). */
export function proposal(b: Block, by = b.proposer): StreamletMessage {
  return { type: 'proposal', block: b, signature: signStatement(signers[by]!, by, Domains.proposal, { view: b.view, sequence: 0, blockHash: b.hash }).signature };
}

/** `by`'s vote for `b` (in `b`'s view). */
export function signedVote(b: Block, by: number): SignedStatement {
  return signStatement(signers[by]!, by, Domains.vote, { view: b.view, sequence: 0, blockHash: b.hash });
}
