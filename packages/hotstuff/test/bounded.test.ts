// Item 10 of issue 15: validly signed messages for far-future views are not kept for ever. A
// Byzantine validator floods one honest replica with them; what the replica retains stays under
// one bound whatever the flood's size, and what it refuses is counted.
import { SimulatedSignatureScheme, StatementVerifier, ValidatorSet, type ProtocolConfig, type ProtocolOutput } from '@bftx/consensus';
import { hotstuff, VIEW_WINDOW, type HotStuffMessage } from '../src/index';

const N = 4;
const scheme = new SimulatedSignatureScheme();
const signers = Array.from({ length: N }, (_, i) => scheme.signer(scheme.keyPair(i).secretKey));
const validators = new ValidatorSet(signers.map((s) => s.publicKey));
const config = (self: number): ProtocolConfig => ({ self, validators, scheme, signer: signers[self]!, timing: { delta: 10 } });
const def = hotstuff();
const sent = (outputs: ProtocolOutput<HotStuffMessage>[], type: HotStuffMessage['type']) =>
  outputs.flatMap((o) => (o.type === 'broadcast' || o.type === 'send') && o.message.type === type ? [o.message] : []);

/** A proposal, a vote and a timeout, all signed by validator 3 (the Byzantine one), as an honest run makes them. */
function samples(): HotStuffMessage[] {
  const byz = def.create(config(3));
  byz.step({ type: 'start', now: 0 });
  const leader = def.create(config(1)); // leads view 1: proposes at start
  const proposal = sent(leader.step({ type: 'start', now: 0 }), 'proposal')[0] as Extract<HotStuffMessage, { type: 'proposal' }>;
  const vote = sent(byz.step({ type: 'message', from: 1, message: proposal, now: 1 }), 'vote')[0]!;
  const timeout = sent(byz.step({ type: 'timer', timer: 'view', now: 100 }), 'timeout')[0]!;
  // A proposal of validator 3's own (it leads view 3), for the flood's proposals.
  const own: HotStuffMessage = { ...proposal, block: { ...proposal.block, proposer: 3 } };
  return [own, vote, timeout];
}

/** Replica 0 after `count` far-future messages from validator 3, each further ahead than the last. */
function flooded(count: number) {
  const replica = def.create(config(0));
  replica.step({ type: 'start', now: 0 });
  const kinds = samples();
  let ahead = 100;
  for (let i = 0; i < count; i++) {
    const message = def.byzantine!.farFuture!(kinds[i % kinds.length]!, signers[3]!, 3, (ahead += 7))!;
    replica.step({ type: 'message', from: 3, message, now: 1 + i });
  }
  return replica;
}

describe('hotstuff: far-future floods', () => {
  test('the flood is validly signed and for views far ahead', () => {
    const [proposal, vote, timeout] = samples().map((m) => def.byzantine!.farFuture!(m, signers[3]!, 3, 1000)!);
    expect(def.votes(proposal!)[0]!.view).toBe(1001);
    expect(def.votes(vote!)[0]!.view).toBe(1001);
    expect(def.votes(timeout!)[0]!.view).toBe(1001);
    const verifier = new StatementVerifier(validators, scheme);
    for (const m of [proposal!, vote!, timeout!]) expect(verifier.verify(def.votes(m)[0]!)).toBe(true);
  });

  test.each([2_000, 20_000])('%i messages: retained stays under one bound, every one refused is counted', (count) => {
    const replica = flooded(count);
    const { retained, dropped } = replica.footprint!();
    // What one view's window holds at most: votes and timeouts of every validator for the views kept, a far timeout per validator.
    expect(retained).toBeLessThanOrEqual(4 * N * (VIEW_WINDOW + 2));
    expect(dropped).toBeGreaterThanOrEqual(count - 3);
    // One Byzantine validator cannot move an honest replica's view (the f+1 rule needs an honest one too).
    const timeouts = replica.step({ type: 'timer', timer: 'view', now: 1_000_000 }).flatMap((o) => (o.type === 'broadcast' && o.message.type === 'timeout' ? [o.message] : []));
    expect(timeouts.map((t) => t.timeout.statement.view)).toEqual([1]);
  });
});
