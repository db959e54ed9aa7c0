// Every refusal is typed and counted (issue 17): one replica fed by hand one input of each class it
// refuses, the code of each rejection checked; an honest run refuses only what an honest run must;
// and the payload policy's refusal stops the prepare.
import { FifoPayloadPolicy, GENESIS, makeBlock, signStatement, type Block, type PayloadContext, type PayloadVerdict, type ProtocolConfig, type ProtocolOutput, type RejectionCode } from '@bftx/consensus';
import { bytesEqual, utf8 } from '@bftx/crypto';
import { simulate, synchronous } from '@bftx/sim';
import { nullBatch, PbftDomains, pbft, preparedDigest, type CheckpointProof, type PbftMessage, type PrePrepare, type ViewChange } from '../src/index';
import { clusterKeys, replicaConfig } from './helpers';

const DELTA = 10;
const keys = clusterKeys(4);
const ME = 3; // never the primary of views 0 to 2
const sign = (i: number, domain: string, view: number, sequence: number, blockHash: Uint8Array) => signStatement(keys.signers[i]!, i, domain, { view, sequence, blockHash });
const batch = (sequence: number, payload: Uint8Array[] = [], view = 0) => makeBlock({ parent: new Uint8Array(32), height: sequence, view, proposer: view % 4, payload });
const prePrepareOf = (view: number, b: Block, by = view % 4): PrePrepare => ({ view, primary: by, batch: b, signature: sign(by, PbftDomains.prePrepare, view, b.height, b.hash).signature });
const prePrepare = (view: number, b: Block, by = view % 4): PbftMessage => ({ type: 'pre-prepare', prePrepare: prePrepareOf(view, b, by) });
const prepare = (view: number, b: Block, by: number): PbftMessage => ({ type: 'prepare', statement: sign(by, PbftDomains.prepare, view, b.height, b.hash), prePrepare: sign(view % 4, PbftDomains.prePrepare, view, b.height, b.hash) });
const commit = (view: number, b: Block, by: number): PbftMessage => ({ type: 'commit', statement: sign(by, PbftDomains.commit, view, b.height, b.hash) });
const checkpoint = (sequence: number, digest: Uint8Array, by: number): PbftMessage => ({ type: 'checkpoint', statement: sign(by, PbftDomains.checkpoint, 0, sequence, digest) });
const GENESIS_PROOF: CheckpointProof = { sequence: 0, digest: GENESIS.hash, statements: [] };
const viewChangeOf = (view: number, by: number, stable = GENESIS_PROOF): ViewChange => ({ statement: sign(by, PbftDomains.viewChange, view, stable.sequence, preparedDigest([])), stable, prepared: [] });
const bad = new Uint8Array(64).fill(7);
const rejections = (out: readonly ProtocolOutput<PbftMessage>[]) => out.flatMap((o) => (o.type === 'reject' ? [o] : []));
const prepares = (out: readonly ProtocolOutput<PbftMessage>[]) => out.filter((o) => o.type === 'broadcast' && o.message.type === 'prepare');

function replica(extra: Partial<ProtocolConfig> = {}) {
  const r = pbft().create(replicaConfig(keys, ME, extra));
  r.step({ type: 'start', now: 0 });
  let now = 1;
  const step = (from: number, message: PbftMessage) => r.step({ type: 'message', from, message, now: now++ });
  const timer = (timer: string) => r.step({ type: 'timer', timer, now: now++ });
  return { r, step, timer };
}
type Step = ReturnType<typeof replica>['step'];
type Timer = ReturnType<typeof replica>['timer'];

describe('each refused input has its code, its sender and its kind', () => {
  const b1 = batch(1, [utf8('a')]);
  const cases: Array<[RejectionCode, string, (s: Step, t: Timer) => ProtocolOutput<PbftMessage>[]]> = [
    // pre-prepares
    ['OUT_OF_WINDOW', 'a pre-prepare for a view ahead', (s) => s(1, prePrepare(5, batch(1, [], 5)))],
    ['OUT_OF_WINDOW', 'a pre-prepare above the high watermark', (s) => s(0, prePrepare(0, batch(33)))],
    ['STALE', 'a pre-prepare for a view the replica left', (s, t) => (t('progress'), s(0, prePrepare(0, b1)))],
    ['NOT_FROM_LEADER', 'a pre-prepare signed by a replica that is not the primary', (s) => s(1, prePrepare(0, b1, 1))],
    ['BAD_SIGNATURE', 'a pre-prepare with a bad signature', (s) => s(0, { type: 'pre-prepare', prePrepare: { ...prePrepareOf(0, b1), signature: bad } })],
    ['INVALID_PROPOSAL', 'a pre-prepare whose batch has a parent', (s) => s(0, prePrepare(0, makeBlock({ parent: GENESIS.hash, height: 1, view: 0, proposer: 0, payload: [] })))],
    ['INVALID_PAYLOAD', "a pre-prepare whose transactions do not match the batch's root", (s) => s(0, { type: 'pre-prepare', prePrepare: { ...prePrepareOf(0, b1), batch: { ...b1, payload: [utf8('other')] } } })],
    ['DUPLICATE', 'a pre-prepare seen before', (s) => (s(0, prePrepare(0, b1)), s(0, prePrepare(0, b1)))],
    ['EQUIVOCATION', "a primary's second batch for one sequence number", (s) => (s(0, prePrepare(0, b1)), s(0, prePrepare(0, batch(1, [utf8('b')]))))],
    // prepares and commits
    ['MALFORMED', 'a prepare signed under the commit domain', (s) => s(1, { type: 'prepare', statement: sign(1, PbftDomains.commit, 0, 1, b1.hash), prePrepare: sign(0, PbftDomains.prePrepare, 0, 1, b1.hash) })],
    ['MALFORMED', 'a prepare of the primary', (s) => s(0, prepare(0, b1, 0))],
    ['OUT_OF_WINDOW', 'a prepare for a view ahead', (s) => s(1, prepare(4, b1, 1))],
    ['OUT_OF_WINDOW', 'a prepare below the low watermark', (s) => s(1, prepare(0, batch(0), 1))],
    ['STALE', 'a prepare for a view the replica left', (s, t) => (t('progress'), s(1, prepare(0, b1, 1)))],
    ['BAD_SIGNATURE', 'a prepare with a bad signature', (s) => s(1, { type: 'prepare', statement: { ...sign(1, PbftDomains.prepare, 0, 1, b1.hash), signature: bad }, prePrepare: sign(0, PbftDomains.prePrepare, 0, 1, b1.hash) })],
    ['DUPLICATE', 'a prepare seen before', (s) => (s(1, prepare(0, b1, 1)), s(2, prepare(0, b1, 1)))],
    ['EQUIVOCATION', "a replica's second prepare for another batch", (s) => (s(1, prepare(0, b1, 1)), s(1, prepare(0, batch(1, [utf8('b')]), 1)))],
    ['STALE', 'a commit more than two views old', (s, t) => (t('progress'), t('progress'), t('progress'), s(1, commit(0, b1, 1)))],
    ['OUT_OF_WINDOW', 'a commit above the high watermark', (s) => s(1, commit(0, batch(40), 1))],
    ['BAD_SIGNATURE', 'a commit signed by another key', (s) => s(1, { type: 'commit', statement: { ...sign(2, PbftDomains.commit, 0, 1, b1.hash), signer: 1 } })],
    // checkpoints
    ['MALFORMED', 'a checkpoint off the checkpoint interval', (s) => s(1, checkpoint(5, b1.hash, 1))],
    ['STALE', 'a checkpoint at the stable one', (s) => s(1, checkpoint(0, GENESIS.hash, 1))],
    ['OUT_OF_WINDOW', "a checkpoint above the window and below its signer's highest", (s) => (s(1, checkpoint(800, b1.hash, 1)), s(1, checkpoint(400, b1.hash, 1)))],
    ['DUPLICATE', 'a checkpoint seen before', (s) => (s(1, checkpoint(8, b1.hash, 1)), s(2, checkpoint(8, b1.hash, 1)))],
    ['EQUIVOCATION', "a replica's second checkpoint digest at one sequence number", (s) => (s(1, checkpoint(8, b1.hash, 1)), s(1, checkpoint(8, GENESIS.hash, 1)))],
    // view changes and new views
    ['STALE', 'a view change for the view the replica is in', (s) => s(1, { type: 'view-change', viewChange: viewChangeOf(0, 1) })],
    ['DUPLICATE', 'a view change seen before', (s) => (s(1, { type: 'view-change', viewChange: viewChangeOf(1, 1) }), s(1, { type: 'view-change', viewChange: viewChangeOf(1, 1) }))],
    ['MALFORMED', 'a view change that signs another prepared list', (s) => s(1, { type: 'view-change', viewChange: { ...viewChangeOf(1, 1), statement: sign(1, PbftDomains.viewChange, 1, 0, b1.hash) } })],
    ['BAD_SIGNATURE', 'a view change with a bad signature', (s) => s(1, { type: 'view-change', viewChange: { ...viewChangeOf(1, 1), statement: { ...viewChangeOf(1, 1).statement, signature: bad } } })],
    [
      'BAD_CERTIFICATE',
      'a view change whose checkpoint proof is one signature short of a quorum',
      (s) => {
        const stable: CheckpointProof = { sequence: 8, digest: b1.hash, statements: [1, 2].map((i) => sign(i, PbftDomains.checkpoint, 0, 8, b1.hash)) };
        return s(1, { type: 'view-change', viewChange: viewChangeOf(1, 1, stable) });
      },
    ],
    ['STALE', 'a NEW-VIEW for the view the replica is in', (s) => s(0, { type: 'new-view', view: 0, viewChanges: [], prePrepares: [] })],
    ['BAD_CERTIFICATE', 'a NEW-VIEW with one view change', (s) => s(1, { type: 'new-view', view: 1, viewChanges: [viewChangeOf(1, 1)], prePrepares: [] })],
    ['INVALID_PROPOSAL', 'a NEW-VIEW re-proposing a batch nothing prepared', (s) => s(1, { type: 'new-view', view: 1, viewChanges: [0, 1, 2].map((i) => viewChangeOf(1, i)), prePrepares: [prePrepareOf(1, batch(1, [], 1))] })],
    // fetches and their answers
    ['MALFORMED', 'a fetch from sequence number 0', (s) => s(1, { type: 'fetch', fromSequence: 0 })],
    ['OUT_OF_WINDOW', 'a fetch for more than the replica executed', (s) => s(1, { type: 'fetch', fromSequence: 1 })],
    [
      'RATE_LIMITED',
      'a fifth fetch in a burst',
      (s) => {
        const b = nullBatch(0, 1, 0);
        s(1, { type: 'committed', batches: [{ batch: b, commits: [0, 1, 2].map((i) => sign(i, PbftDomains.commit, 0, 1, b.hash)) }] });
        for (let i = 0; i < 4; i++) s(1, { type: 'fetch', fromSequence: 1 });
        return s(1, { type: 'fetch', fromSequence: 1 });
      },
    ],
    ['UNASKED', 'an answer nobody asked for, with nothing in it', (s) => s(1, { type: 'committed', batches: [] })],
    ['UNPROVEN', 'an answer whose batch has one commit', (s) => s(1, { type: 'committed', batches: [{ batch: b1, commits: [sign(0, PbftDomains.commit, 0, 1, b1.hash)] }] })],
    ['MALFORMED', 'an answer from a finalized chain with nothing in it', (s) => s(1, { type: 'final', proof: undefined, blocks: [], headers: [] })],
    ['UNPROVEN', 'an answer from a finalized chain that links to nothing proven', (s) => s(1, { type: 'final', proof: undefined, blocks: [makeBlock({ parent: GENESIS.hash, height: 1, view: 0, proposer: 0, payload: [] })], headers: [] })],
    [
      'BAD_CERTIFICATE',
      'an answer from a finalized chain whose checkpoint proof is short of a quorum',
      (s) => {
        const b = makeBlock({ parent: GENESIS.hash, height: 1, view: 0, proposer: 0, payload: [] });
        return s(1, { type: 'final', proof: { sequence: 1, digest: b.hash, statements: [sign(1, PbftDomains.checkpoint, 0, 1, b.hash)] }, blocks: [b], headers: [] });
      },
    ],
  ];

  test.each(cases)('%s: %s', (code, _what, feed) => {
    const { r, step, timer } = replica();
    const got = rejections(feed(step, timer));
    expect(got.map((x) => x.code)).toEqual([code]);
    expect(got[0]!.from).toBeGreaterThanOrEqual(0);
    expect(got[0]!.kind).toBeDefined();
    expect(r.footprint!().retained).toBeLessThan(16);
  });

  test('the sender and the message kind are named', () => {
    const { step } = replica();
    expect(rejections(step(2, prePrepare(0, b1, 2)))).toEqual([{ type: 'reject', code: 'NOT_FROM_LEADER', from: 2, kind: 'pre-prepare' }]);
  });
});

const MARKED = utf8('marked');
/** The FIFO policy, except that a payload holding MARKED may not be prepared. */
class RefusesMarked extends FifoPayloadPolicy {
  readonly refused: PayloadContext[] = [];
  override validate(payload: readonly Uint8Array[] = [], context?: PayloadContext): PayloadVerdict {
    if (!payload.some((tx) => bytesEqual(tx, MARKED))) return { ok: true };
    if (context !== undefined) this.refused.push(context);
    return { ok: false, reason: 'marked' };
  }
}

describe('the payload policy judges a batch before the prepare', () => {
  test('a batch the policy refuses gets no prepare and one INVALID_PAYLOAD rejection; one it accepts gets the prepare', () => {
    const policy = new RefusesMarked();
    const { step } = replica({ payload: policy });
    const marked = batch(1, [utf8('fine'), MARKED]);
    const out = step(0, prePrepare(0, marked));
    expect(prepares(out)).toEqual([]);
    expect(rejections(out)).toEqual([{ type: 'reject', code: 'INVALID_PAYLOAD', from: 0, kind: 'pre-prepare' }]);
    expect(policy.refused.map((c) => [c.view, c.height])).toEqual([[0, 1]]);
    expect(prepares(step(0, prePrepare(0, batch(2, [utf8('fine')]))))).toHaveLength(1);
  });

  test('in a cluster whose first primary puts the marked transaction in every batch, none of its batches is prepared while the others finalize', () => {
    class AddsMarked extends RefusesMarked {
      override build(context: PayloadContext, max: number): Uint8Array[] {
        return [...super.build(context, max - 1), MARKED];
      }
    }
    const base = pbft();
    const protocol = { ...base, create: (config: ProtocolConfig) => base.create({ ...config, payload: config.self === 0 ? new AddsMarked() : new RefusesMarked() }) };
    const r = simulate({ protocol, n: 4, seed: 3, network: synchronous(DELTA), timing: { delta: DELTA }, duration: 1500, transactions: { every: DELTA, perBatch: 2 }, traceKinds: ['propose', 'certify', 'finalize'] });
    const byZero = new Set(r.trace.filter((e) => e.ev === 'propose' && e.replica === 0).map((e) => e.block));
    expect(byZero.size).toBeGreaterThan(0);
    // No replica certified (prepared) or finalized a batch of replica 0.
    expect(r.trace.filter((e) => (e.ev === 'certify' && byZero.has(e.block)) || (e.ev === 'finalize' && byZero.has(e.proposal)))).toEqual([]);
    for (const x of r.replicas) {
      expect(x.finalized).toBeGreaterThan(30);
      if (x.validator !== 0) expect(x.rejections.INVALID_PAYLOAD).toBeGreaterThan(0);
    }
    expect(r.safetyViolation).toBeUndefined();
  });
});

describe('an honest run', () => {
  test('refuses only the checkpoints and commits that come after what they vouch for is stable', () => {
    // Each checkpoint interval, a quorum of checkpoints makes the checkpoint stable: the n - quorum
    // later ones are STALE. The log below it is dropped then, so commits of the slowest replica that
    // arrive after are below the low watermark: OUT_OF_WINDOW (the bounded-state rule). Nothing else
    // is refused: no duplicate, no bad signature, no message for another view.
    const r = simulate({ protocol: pbft(), n: 4, seed: 5, network: synchronous(DELTA), timing: { delta: DELTA }, duration: 1500, transactions: { every: DELTA, perBatch: 2 }, traceKinds: ['reject'] });
    expect(r.honestFinalizedHeight).toBeGreaterThan(60);
    const kinds = new Set(r.trace.filter((e) => e.ev === 'reject').map((e) => `${e.code} ${e.kind}`));
    expect([...kinds].sort()).toEqual(['OUT_OF_WINDOW commit', 'STALE checkpoint']);
    // One late checkpoint per replica per interval (n - quorum = 1 of the 3 others).
    expect(r.rejections.STALE).toBeLessThanOrEqual(4 * Math.ceil(r.honestFinalizedHeight / 8));
  });
});
