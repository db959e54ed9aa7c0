// Every input a replica refuses comes out as a typed `reject` output (issue 17): one input of each
// class is fed by hand to a fresh replica and the code it gets is checked; an honest run refuses
// only what honest replicas send in the normal course (see the last test); and a payload policy
// that refuses a transaction keeps honest replicas from voting for a block that holds it.
import {
  FifoPayloadPolicy,
  GENESIS,
  makeBlock,
  makeCertificate,
  signStatement,
  SimulatedSignatureScheme,
  ValidatorSet,
  type PayloadVerdict,
  type Protocol,
  type ProtocolDefinition,
  type Block,
  type ProtocolOutput,
} from '@bftx/consensus';
import { Domains } from '@bftx/crypto';
import { lossyUntil, partialSynchrony, simulate, synchronous } from '@bftx/sim';
import { GENESIS_QC, hotstuff, type HotStuffMessage } from '../src/index';

const N = 4;
const DELTA = 10;
const scheme = new SimulatedSignatureScheme();
const signers = Array.from({ length: N }, (_, i) => scheme.signer(scheme.keyPair(i).secretKey));
const validators = new ValidatorSet(signers.map((s) => s.publicKey));
const def = hotstuff();
type Proposal = Extract<HotStuffMessage, { type: 'proposal' }>;

const make = (self: number): Protocol<HotStuffMessage> => def.create({ self, validators, scheme, signer: signers[self]!, timing: { delta: DELTA } });
const started = (self: number) => {
  const r = make(self);
  r.step({ type: 'start', now: 0 });
  return r;
};
const rejects = (out: ProtocolOutput<HotStuffMessage>[]) => out.flatMap((o) => (o.type === 'reject' ? [`${o.code} ${o.kind} from ${o.from}`] : []));
let clock = 1;
const deliver = (r: Protocol<HotStuffMessage>, from: number, message: HotStuffMessage) => r.step({ type: 'message', from, message, now: clock++ });

/** Replica 1 leads view 1: its proposal at start (a block on genesis). */
const leaderProposal = (): Proposal => {
  const out = make(1).step({ type: 'start', now: 0 });
  return out.flatMap((o) => (o.type === 'broadcast' && o.message.type === 'proposal' ? [o.message] : []))[0]!;
};
const proposalBy = (signer: number, view: number, justify = GENESIS_QC): Proposal => {
  const block = makeBlock({ parent: justify.blockHash, height: 1, view, proposer: signer, payload: [Uint8Array.of(view, signer)] });
  const signature = signStatement(signers[signer]!, signer, Domains.proposal, { view, sequence: 0, blockHash: block.hash }).signature;
  return { type: 'proposal', block, justify, tc: undefined, signature };
};
/** A QC of validators 0, 1 and 2 for the block of `p`. */
const qcFor = (p: Proposal) => makeCertificate([0, 1, 2].map((i) => signStatement(signers[i]!, i, Domains.vote, { view: p.block.view, sequence: 0, blockHash: p.block.hash })), N);
const timeoutFrom = (signer: number, view: number, highQC = GENESIS_QC): HotStuffMessage => ({
  type: 'timeout',
  timeout: { statement: signStatement(signers[signer]!, signer, Domains.timeout, { view, sequence: 0, blockHash: highQC.blockHash }), highQC },
});

describe('hotstuff: every refusal is typed', () => {
  test('a proposal: not from the leader, not entering its view, badly signed, with a payload that does not match, twice, or a second one of the leader', () => {
    const p = leaderProposal();
    const r = started(0);
    expect(rejects(deliver(r, 2, proposalBy(2, 1)))).toEqual(['NOT_FROM_LEADER proposal from 2']);
    // View 2 needs QC(1) or TC(1); genesis' QC is neither.
    expect(rejects(deliver(r, 2, proposalBy(2, 2)))).toEqual(['INVALID_PROPOSAL proposal from 2']);
    expect(rejects(deliver(r, 1, def.byzantine!.withBadSignature!(p)))).toEqual(['BAD_SIGNATURE proposal from 1']);
    expect(rejects(deliver(r, 1, { ...p, block: { ...p.block, payload: [Uint8Array.of(0xba, 0xd)] } }))).toEqual(['INVALID_PAYLOAD proposal from 1']);
    // The same proposal with a TC whose timeouts are not signed: the TC is what enters view 2.
    const forgedTC = { view: 1, timeouts: [1, 2, 3].map((signer) => ({ domain: Domains.timeout, view: 1, sequence: 0, blockHash: GENESIS.hash, signer, signature: new Uint8Array(64) })) };
    expect(rejects(deliver(r, 2, { ...proposalBy(2, 2), tc: forgedTC }))).toEqual(['BAD_CERTIFICATE proposal from 2']);
    const accepted = deliver(r, 1, p);
    expect(rejects(accepted)).toEqual([]);
    expect(accepted.some((o) => o.type === 'send' && o.message.type === 'vote')).toBe(true);
    expect(rejects(deliver(r, 3, p))).toEqual(['DUPLICATE proposal from 3']);
    const other = def.byzantine!.conflicting!(p, signers[1]!, 1)!;
    const out = deliver(r, 1, other);
    expect(rejects(out)).toEqual(['EQUIVOCATION proposal from 1']);
    expect(out.some((o) => o.type === 'evidence' && o.evidence.offender === 1)).toBe(true);
  });

  test('a vote: malformed, far ahead, badly signed, counted twice, after its QC, or sent to a replica that does not collect it', () => {
    const p = leaderProposal();
    // Replica 2 leads view 2: it collects the votes of view 1.
    const collector = started(2);
    deliver(collector, 1, p);
    const voteOf = (signer: number): HotStuffMessage => {
      const replica = make(signer);
      // Replica 1 votes for its own proposal as it makes it, at start.
      const out = [...replica.step({ type: 'start', now: 0 }), ...(signer === 1 ? [] : deliver(replica, 1, p))];
      return out.flatMap((o) => (o.type === 'send' && o.to === 2 && o.message.type === 'vote' ? [o.message] : []))[0]!;
    };
    const v0 = voteOf(0) as Extract<HotStuffMessage, { type: 'vote' }>;
    expect(rejects(deliver(collector, 0, { ...v0, vote: { ...v0.vote, sequence: 1 } }))).toEqual(['MALFORMED vote from 0']);
    expect(rejects(deliver(collector, 0, def.byzantine!.farFuture!(v0, signers[0]!, 0, 1_000)!))).toEqual(['OUT_OF_WINDOW vote from 0']);
    expect(rejects(deliver(collector, 0, def.byzantine!.withBadSignature!(v0)))).toEqual(['BAD_SIGNATURE vote from 0']);
    expect(rejects(deliver(collector, 0, v0))).toEqual([]);
    expect(rejects(deliver(collector, 0, v0))).toEqual(['DUPLICATE vote from 0']);
    // Replica 2's own vote and 0's make 2: replica 3's completes the quorum (3 of 4), replica 1's comes after it.
    const qc = deliver(collector, 3, voteOf(3));
    expect(rejects(qc)).toEqual([]);
    expect(qc.some((o) => o.type === 'broadcast' && o.message.type === 'proposal' && o.message.justify.view === 1)).toBe(true);
    expect(rejects(deliver(collector, 1, voteOf(1)))).toEqual(['STALE vote from 1']);
    // Replica 1 leads view 1: it collects the votes of views 0 and 3 only.
    const notCollector = started(1);
    expect(rejects(deliver(notCollector, 0, v0))).toEqual(['MALFORMED vote from 0']);
  });

  test('timeouts and TCs: stale, with a QC that proves nothing, badly signed, re-sent, far ahead, forged', () => {
    const r = started(0);
    expect(rejects(deliver(r, 1, timeoutFrom(1, 1)))).toEqual([]);
    expect(rejects(deliver(r, 1, timeoutFrom(1, 1)))).toEqual(['DUPLICATE timeout from 1']);
    const t = timeoutFrom(2, 1) as Extract<HotStuffMessage, { type: 'timeout' }>;
    expect(rejects(deliver(r, 2, def.byzantine!.withBadSignature!(t)))).toEqual(['BAD_SIGNATURE timeout from 2']);
    const stripped = { ...GENESIS_QC, view: 1, signers: new Uint8Array(1), signatures: [] };
    expect(rejects(deliver(r, 2, timeoutFrom(2, 1, stripped)))).toEqual(['BAD_CERTIFICATE timeout from 2']);
    // Signs one block, names another QC's.
    expect(rejects(deliver(r, 2, { type: 'timeout', timeout: { ...t.timeout, highQC: qcFor(leaderProposal()) } }))).toEqual(['MALFORMED timeout from 2']);
    expect(rejects(deliver(r, 3, timeoutFrom(3, 1_000)))).toEqual(['OUT_OF_WINDOW timeout from 3']);
    const forged: HotStuffMessage = { type: 'tc', tc: { view: 5, timeouts: [1, 2, 3].map((signer) => ({ domain: Domains.timeout, view: 5, sequence: 0, blockHash: GENESIS.hash, signer, signature: new Uint8Array(64) })) } };
    expect(rejects(deliver(r, 1, forged))).toEqual(['BAD_CERTIFICATE tc from 1']);
    expect(rejects(deliver(r, 1, { type: 'tc', tc: { view: 10_000, timeouts: [] } }))).toEqual(['OUT_OF_WINDOW tc from 1']);
    // Timeouts of 1 and 2 (and its own, at the view timer) make TC(1): view 2 now.
    r.step({ type: 'timer', timer: 'view', now: clock++ });
    expect(rejects(deliver(r, 2, timeoutFrom(2, 1)))).toEqual([]);
    expect(rejects(deliver(r, 1, { type: 'tc', tc: { view: 1, timeouts: [] } }))).toEqual(['STALE tc from 1']);
    expect(rejects(deliver(r, 3, timeoutFrom(3, 0)))).toEqual(['STALE timeout from 3']);
  });

  test('fetches and their answers: unasked, unproven, held already, rate-limited, for a block the asker has', () => {
    const p = leaderProposal();
    const r = started(0);
    expect(rejects(deliver(r, 2, { type: 'block', blocks: [{ block: p.block, justify: p.justify }] }))).toEqual(['UNASKED block from 2']);
    expect(rejects(deliver(r, 2, { type: 'final', blocks: [p.block] }))).toEqual(['UNASKED final from 2']);
    expect(rejects(deliver(r, 2, { type: 'block', blocks: [] }))).toEqual(['MALFORMED block from 2']);
    // A timeout naming a QC for the leader's block, which replica 0 does not hold: it asks for it.
    const asked = deliver(r, 2, timeoutFrom(2, 1, qcFor(p)));
    expect(asked.some((o) => o.type === 'broadcast' && o.message.type === 'fetch')).toBe(true);
    const tampered = { ...p.block, payload: [Uint8Array.of(0xba, 0xd)] };
    expect(rejects(deliver(r, 3, { type: 'block', blocks: [{ block: tampered, justify: p.justify }] }))).toEqual(['UNPROVEN block from 3']);
    expect(rejects(deliver(r, 3, { type: 'final', blocks: [tampered] }))).toEqual(['UNPROVEN final from 3']);
    expect(rejects(deliver(r, 3, { type: 'block', blocks: [{ block: p.block, justify: p.justify }] }))).toEqual([]);
    expect(rejects(deliver(r, 1, { type: 'block', blocks: [{ block: p.block, justify: p.justify }] }))).toEqual(['DUPLICATE block from 1']);
    // Serving: a fetch for a block at or below the asker's committed height, then a burst past the limit.
    expect(rejects(deliver(r, 1, { type: 'fetch', blockHash: p.block.hash, above: 1 }))).toEqual(['STALE fetch from 1']);
    const answers = Array.from({ length: 9 }, () => rejects(deliver(r, 1, { type: 'fetch', blockHash: p.block.hash, above: 0 })));
    expect(answers.slice(0, 8).flat()).toEqual([]);
    expect(answers[8]).toEqual(['RATE_LIMITED fetch from 1']);
    expect(r.footprint!().dropped).toBe(1); // of these, only the rate-limited one counts as dropped
  });
});

/** Counts the `reject` outputs of every replica the definition creates, by "code kind"; keeps what replica 0 commits. */
function counting(base: ProtocolDefinition<HotStuffMessage>, counts: Record<string, number>, committed: Block[] = []): ProtocolDefinition<HotStuffMessage> {
  return {
    ...base,
    create(config) {
      const replica = base.create(config);
      const step = replica.step.bind(replica);
      replica.step = (input) => {
        const out = step(input);
        for (const o of out) {
          if (o.type === 'reject') counts[`${o.code} ${o.kind}`] = (counts[`${o.code} ${o.kind}`] ?? 0) + 1;
          if (o.type === 'commit' && config.self === 0) committed.push(...o.blocks);
        }
        return out;
      };
      return replica;
    },
  };
}

test('honest runs refuse only what honest replicas send in the normal course', () => {
  // STALE vote: a collector forms the QC at a quorum, and the votes after it (and all of them at the
  // second collector, once the first one's proposal moved it on) are of no use. DUPLICATE block: every
  // peer answers a fetch, the first answer that proves the block is taken. Before GST: DUPLICATE
  // timeout (re-sent until the view changes), STALE timeout and tc (for a view already left: a
  // replica still in it gets the TC), DUPLICATE proposal (a block that came in a fetch answer first).
  const allowed = new Set(['STALE vote', 'DUPLICATE block', 'DUPLICATE timeout', 'STALE timeout', 'STALE tc', 'DUPLICATE proposal']);
  for (const network of [synchronous(DELTA), partialSynchrony(DELTA, 300), lossyUntil(partialSynchrony(DELTA, 200), 200, 0.4, 0.05)]) {
    for (const n of [4, 7]) {
      const counts: Record<string, number> = {};
      const r = simulate({ protocol: counting(hotstuff(), counts), n, seed: 3, network, timing: { delta: DELTA }, duration: 2_000, trace: false, transactions: { every: 10, perBatch: 1 } });
      expect(r.verdict).toBe('safe');
      expect(r.honestFinalizedHeight).toBeGreaterThan(100);
      expect(Object.keys(counts).filter((k) => !allowed.has(k))).toEqual([]);
      expect(counts['STALE vote']).toBeGreaterThan(0);
    }
  }
});

/** The FIFO policy, refusing to vote for any payload that holds a transaction starting with 0xee. */
class RefusesMarked extends FifoPayloadPolicy {
  override validate(payload: readonly Uint8Array[]): PayloadVerdict {
    return payload.some((tx) => tx[0] === 0xee) ? { ok: false, reason: 'marked' } : { ok: true };
  }
}

test('a payload policy that refuses a transaction: honest replicas do not vote for a block holding it (each refusal counted), and blocks without it finalize', () => {
  const counts: Record<string, number> = {};
  const chain: Block[] = [];
  const base = counting(hotstuff(), counts, chain);
  const protocol: ProtocolDefinition<HotStuffMessage> = { ...base, create: (config) => base.create({ ...config, payload: new RefusesMarked() }) };
  // Only replica 1 gets the marked transaction: its blocks hold it (it leads views 1, 5, 9, ...).
  const marked = Uint8Array.of(0xee, 1, 2, 3);
  const r = simulate({ protocol, n: 4, seed: 1, network: synchronous(DELTA), timing: { delta: DELTA }, duration: 2_000, workload: [{ at: 0, txs: [marked], to: [1] }], transactions: { every: 10, perBatch: 1 } });
  expect(r.verdict).toBe('safe');
  expect(counts['INVALID_PAYLOAD proposal']).toBeGreaterThanOrEqual(3); // every replica refused at least one of replica 1's blocks
  expect(r.honestFinalizedHeight).toBeGreaterThan(20);
  expect(chain.some((b) => b.payload.some((tx) => tx[0] === 0xee))).toBe(false);
  // Replica 1's block of view 1 (made at start, before the transaction came) at most: none of its blocks after got a QC.
  expect(chain.filter((b) => b.proposer === 1).length).toBeLessThanOrEqual(1);
  expect(chain.filter((b) => b.proposer === 2).length).toBeGreaterThan(10);
  expect(chain.filter((b) => b.payload.length > 0).length).toBeGreaterThan(10);
});

test('without the policy, the same run finalizes the marked transaction', () => {
  const marked = Uint8Array.of(0xee, 1, 2, 3);
  const chain: Block[] = [];
  simulate({ protocol: counting(hotstuff(), {}, chain), n: 4, seed: 1, network: synchronous(DELTA), timing: { delta: DELTA }, duration: 2_000, workload: [{ at: 0, txs: [marked], to: [1] }], transactions: { every: 10, perBatch: 1 } });
  expect(chain.some((b) => b.payload.some((tx) => tx[0] === 0xee))).toBe(true);
  expect(chain.some((b) => b.proposer === 1)).toBe(true);
});
