// Each planted bug must make the conformance suite fail. The mutants override one rule of the
// honest replica; nothing else changes.
import { suiteFailure } from '@bftx/consensus/testing';
import * as sim from '@bftx/sim';
import { Pbft, pbft, type PreparedCertificate } from '../src/index';

class CommitWithoutCommitPhase extends Pbft {
  protected override commitQuorum(): number {
    return 0; // executes as soon as the batch is prepared
  }
}

class ViewChangeIgnoresPrepared extends Pbft {
  protected override chooseReproposal(_certs: readonly PreparedCertificate[]): PreparedCertificate | undefined {
    return undefined; // a new view fills every sequence number with a null batch
  }
}

const mutants: Array<[string, typeof Pbft]> = [
  ['commit without the commit phase', CommitWithoutCommitPhase],
  ['view change that ignores prepared certificates', ViewChangeIgnoresPrepared],
];

describe('pbft: the conformance suite catches planted bugs', () => {
  test.each(mutants)('%s', (name, Replica) => {
    const failure = suiteFailure(pbft({ replica: Replica }), sim, { safety: 300, evidence: 30, liveness: 20, twins: 2000 });
    expect(failure).toBeDefined();
    // Both bugs also stall progress, which the liveness property sees first; they must break safety too.
    const unsafe = suiteFailure(pbft({ replica: Replica }), sim, { safety: 300, evidence: 0, liveness: 0, twins: 2000 });
    expect(unsafe).toMatch(/^(safety|twins): /);
    console.log(`${name}: caught by ${failure}; and by ${unsafe}`);
  });
});
