// Each planted bug must make the conformance suite fail. The mutants override
// one rule of the honest replica; nothing else changes.
import type { Block, ProtocolInput, ProtocolOutput } from '@bftx/consensus';
import { suiteFailure } from '@bftx/consensus/testing';
import * as sim from '@bftx/sim';
import { Streamlet, streamlet, type StreamletMessage } from '../src/index';

/**
 * A colluding fork the generic suite no longer reaches for Streamlet: the Byzantine leader of four
 * epochs in a row proposes on its own fork from genesis (without echo, so its fork stays its own).
 * Honest replicas refuse it (it does not extend the longest notarized chain); a replica that skips
 * that check notarizes it, and three consecutive epochs finalize a block conflicting with a final one.
 * (The suite's late-votes windows are 2 delta long, and Streamlet's epochs now 2 delta + 1 ms; with
 * the repair gossip and fetches answered with votes, its generated schedules no longer fork honest
 * views far enough for this mutant.)
 */
function colludingForkFailure(Replica: typeof Streamlet): string | undefined {
  const leaders = Array.from({ length: 60 }, (_, e) => (e >= 10 && e < 14 ? 0 : 1 + (e % 3)));
  const r = sim.simulate({ protocol: streamlet({ echo: false, replica: Replica }), n: 4, seed: 1, network: sim.synchronous(10), timing: { delta: 10 }, duration: 40 * 21, byzantine: [{ replica: 0, strategy: { kind: 'fork' } }], leaderSchedule: leaders, trace: false });
  return r.safetyViolation === undefined ? undefined : `colluding fork: ${r.safetyViolation}`;
}

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

class PersistsNothing extends Streamlet {
  override step(input: ProtocolInput<StreamletMessage>): ProtocolOutput<StreamletMessage>[] {
    return super.step(input).filter((o) => o.type !== 'persist');
  }
}

const mutants: Array<[string, typeof Streamlet]> = [
  ['quorum of floor(n/2)+1', MajorityQuorum],
  ['finalize on two consecutive epochs', FinalizeOnTwo],
  ['vote twice in an epoch', VotesTwiceInAnEpoch],
  ['skip the longest-notarized-chain check', SkipsLongestChainCheck],
  ['persist nothing', PersistsNothing],
];

describe('streamlet: the conformance suite catches planted bugs', () => {
  test('the colluding-fork schedule is safe for the honest replica', () => {
    expect(colludingForkFailure(Streamlet)).toBeUndefined();
  });

  test.each(mutants)('%s', (_name, Replica) => {
    const failure = suiteFailure(streamlet({ replica: Replica }), sim, { safety: 300, evidence: 30, liveness: 20, twins: 0, classes: 20 }) ?? colludingForkFailure(Replica);
    expect(failure).toBeDefined();
    console.log(`${_name}: caught by ${failure}`);
  });
});
