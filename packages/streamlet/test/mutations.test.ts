// Each planted bug must make the conformance suite fail. The mutants override
// one rule of the honest replica; nothing else changes.
import type { Block } from '@bftx/consensus';
import { suiteFailure } from '@bftx/consensus/testing';
import * as sim from '@bftx/sim';
import { Streamlet, streamlet } from '../src/index';

class MajorityQuorum extends Streamlet {
  protected override quorumSize(): number {
    return Math.floor(this.n / 2) + 1;
  }
}

class FinalizeOnTwo extends Streamlet {
  protected override finalizes(_grandparent: Block | undefined, parent: Block, block: Block): boolean {
    return parent.epoch + 1 === block.epoch;
  }
}

class VotesTwiceInAnEpoch extends Streamlet {
  protected override mayVote(block: Block): boolean {
    return this.extendsLongestNotarized(block); // forgets "first proposal only" and "once per epoch"
  }
}

class SkipsLongestChainCheck extends Streamlet {
  protected override extendsLongestNotarized(): boolean {
    return true;
  }
}

const mutants: Array<[string, typeof Streamlet]> = [
  ['quorum of floor(n/2)+1', MajorityQuorum],
  ['finalize on two consecutive epochs', FinalizeOnTwo],
  ['vote twice in an epoch', VotesTwiceInAnEpoch],
  ['skip the longest-notarized-chain check', SkipsLongestChainCheck],
];

describe('streamlet: the conformance suite catches planted bugs', () => {
  test.each(mutants)('%s', (_name, Replica) => {
    const failure = suiteFailure(streamlet({ replica: Replica }), sim, { safety: 300, evidence: 30, liveness: 20, twins: 0 });
    expect(failure).toBeDefined();
    console.log(`${_name}: caught by ${failure}`);
  });
});
