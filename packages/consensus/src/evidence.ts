import { bytesEqual } from '@bftx/crypto';
import { verifyUnfairProposal, type UnfairProposalEvidence } from './ordering/order';
import type { SignedStatement, StatementVerifier } from './statement';
import type { Block } from './block';

/** Proof that `offender` signed two different blocks for the same (domain, view, sequence). Anyone can check it. */
export interface EquivocationEvidence {
  readonly kind: 'equivocation';
  readonly offender: number;
  readonly first: SignedStatement;
  readonly second: SignedStatement;
}
export type Evidence = EquivocationEvidence | UnfairProposalEvidence;

/**
 * True iff the evidence really shows its offender's misbehaviour (an equivocation, or an unfair
 * proposal). An unfair proposal is misbehaviour only where the cluster runs the fair-ordering
 * policy: under leader ordering every non-empty block lacks receive logs, so a caller that takes
 * such evidence from outside checks the cluster's ordering first (verifyForkProof takes none).
 */
export function verifyEvidence(e: Evidence, verifier: StatementVerifier): boolean {
  if (e.kind === 'unfair-proposal') return verifyUnfairProposal(e, verifier);
  const { first: a, second: b } = e;
  return (
    e.kind === 'equivocation' &&
    a.signer === e.offender &&
    b.signer === e.offender &&
    a.domain === b.domain &&
    a.view === b.view &&
    a.sequence === b.sequence &&
    !bytesEqual(a.blockHash, b.blockHash) &&
    verifier.verify(a) &&
    verifier.verify(b)
  );
}

/**
 * Remembers the first statement of each signer per (domain, view, sequence) and
 * reports an equivocation once per offender: distinct offenders, never a
 * repeated count of the same misbehaviour.
 */
export class EquivocationDetector {
  private readonly first = new Map<string, SignedStatement>();
  private readonly reported = new Set<number>();

  /** Call with statements whose signatures were verified. Returns new evidence, if this one conflicts. */
  observe(s: SignedStatement): Evidence | undefined {
    const key = `${s.domain}|${s.view}|${s.sequence}|${s.signer}`;
    const earlier = this.first.get(key);
    if (earlier === undefined) {
      this.first.set(key, s);
      return undefined;
    }
    if (bytesEqual(earlier.blockHash, s.blockHash) || this.reported.has(s.signer)) return undefined;
    this.reported.add(s.signer);
    return { kind: 'equivocation', offender: s.signer, first: earlier, second: s };
  }

  /** Forget statements of views below `view` (bounded memory). */
  prune(view: number): void {
    for (const [k, s] of this.first) if (s.view < view) this.first.delete(k);
  }
}

/** Evidence that the proposer of `block` broke the cluster's ordering policy: its signed `statement` for the block, and the block. */
export function unfairProposalEvidence(block: Block, statement: SignedStatement): UnfairProposalEvidence {
  return {
    kind: 'unfair-proposal',
    offender: block.proposer,
    statement,
    header: { parent: block.parent, height: block.height, view: block.view, proposer: block.proposer, payloadRoot: block.payloadRoot },
    payload: block.payload,
  };
}
