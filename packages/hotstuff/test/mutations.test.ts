// Each planted bug must make the conformance suite fail. The mutants override one rule of the
// honest replica; nothing else changes.
import type { Block, QuorumCertificate } from '@bftx/consensus';
import { suiteFailure } from '@bftx/consensus/testing';
import * as sim from '@bftx/sim';
import { HotStuff, hotstuff } from '../src/index';

class NoLockCheck extends HotStuff {
  protected override safeToVote(_block: Block, _justify: QuorumCertificate): boolean {
    return true;
  }
}

class CommitOnTwoChain extends HotStuff {
  protected override committable(_b: Block | undefined, b1: Block, b2: Block): Block | undefined {
    return b2.epoch === b1.epoch + 1 ? b1 : undefined;
  }
}

const mutants: Array<[string, typeof HotStuff]> = [
  ['no lock check', NoLockCheck],
  ['commit on a 2-chain', CommitOnTwoChain],
];

describe('hotstuff: the conformance suite catches planted bugs', () => {
  test.each(mutants)('%s', (name, Replica) => {
    const failure = suiteFailure(hotstuff({ replica: Replica }), sim, { safety: 300, evidence: 30, liveness: 20, twins: 2000 });
    expect(failure).toBeDefined();
    console.log(`${name}: caught by ${failure}`);
  });
});
