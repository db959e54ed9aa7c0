// The definition's audit and adversary hooks: votes() lists every statement a message carries
// (the simulator checks from it that no honest key signs two batches for one sequence, across
// restarts); farFuture and corruptAnswer give the suite its flooding and lying Byzantine replicas.
import { signStatement, StatementVerifier, type SignedStatement } from '@bftx/consensus';
import { nullBatch, PbftDomains, pbft, preparedDigest, prePrepareStatement, type PbftMessage, type PrePrepare } from '../src/index';
import { clusterKeys } from './helpers';

const keys = clusterKeys(4);
const definition = pbft();
const hooks = definition.byzantine!;
const sign = (i: number, domain: string, view: number, sequence: number, blockHash: Uint8Array) => signStatement(keys.signers[i]!, i, domain, { view, sequence, blockHash });
const batch = nullBatch(0, 1, 0);
const prePrepare: PrePrepare = { view: 0, primary: 0, batch, signature: sign(0, PbftDomains.prePrepare, 0, 1, batch.hash).signature };
const commits = [0, 1, 2].map((i) => sign(i, PbftDomains.commit, 0, 1, batch.hash));
const viewChange: PbftMessage = { type: 'view-change', viewChange: { statement: sign(2, PbftDomains.viewChange, 1, 0, preparedDigest([])), stable: { sequence: 0, digest: batch.parent, statements: [] }, prepared: [] } };
const verifier = new StatementVerifier(keys.validators, keys.scheme);
const valid = (statements: readonly SignedStatement[]) => statements.every((s) => verifier.verify(s));

describe('pbft definition hooks', () => {
  test('votes() returns every signed statement of every message kind, as signed', () => {
    const prepare = sign(1, PbftDomains.prepare, 0, 1, batch.hash);
    const cases: Array<[PbftMessage, number]> = [
      [{ type: 'pre-prepare', prePrepare }, 1],
      [{ type: 'prepare', statement: prepare, prePrepare: prePrepareStatement(prePrepare) }, 2],
      [{ type: 'commit', statement: commits[0]! }, 1],
      [{ type: 'checkpoint', statement: sign(3, PbftDomains.checkpoint, 0, 8, batch.hash) }, 1],
      [viewChange, 1],
      [{ type: 'new-view', view: 1, viewChanges: [], prePrepares: [prePrepare, prePrepare] }, 2],
      [{ type: 'committed', batches: [{ batch, commits }] }, 3],
      [{ type: 'fetch', fromSequence: 1 }, 0],
      [{ type: 'final', proof: { sequence: 8, digest: batch.hash, statements: [0, 1, 2].map((i) => sign(i, PbftDomains.checkpoint, 0, 8, batch.hash)) }, blocks: [], headers: [] }, 3],
      [{ type: 'final', proof: undefined, blocks: [batch], headers: [] }, 0],
    ];
    for (const [message, count] of cases) {
      const votes = definition.votes(message);
      expect(votes).toHaveLength(count);
      expect(valid(votes)).toBe(true);
    }
    expect(definition.votes({ type: 'pre-prepare', prePrepare })[0]).toMatchObject({ domain: PbftDomains.prePrepare, view: 0, sequence: 1, signer: 0 });
  });

  test('farFuture: the same kind of message, validly signed, views (or checkpoint intervals) ahead', () => {
    const signer = keys.signers[2]!;
    const far = (m: PbftMessage) => hooks.farFuture!(m, signer, 2, 100);
    const commit = far({ type: 'commit', statement: sign(2, PbftDomains.commit, 3, 1, batch.hash) }) as Extract<PbftMessage, { type: 'commit' }>;
    expect(commit.statement).toMatchObject({ view: 103, sequence: 1, signer: 2 });
    const vc = far(viewChange) as Extract<PbftMessage, { type: 'view-change' }>;
    expect(vc.viewChange.statement.view).toBe(101);
    const checkpoint = far({ type: 'checkpoint', statement: sign(2, PbftDomains.checkpoint, 0, 8, batch.hash) }) as Extract<PbftMessage, { type: 'checkpoint' }>;
    expect(checkpoint.statement.sequence).toBe(8 + 100 * 8);
    expect(valid([commit.statement, vc.viewChange.statement, checkpoint.statement])).toBe(true);
    expect(far({ type: 'fetch', fromSequence: 1 })).toBeUndefined();
  });

  test('corruptAnswer: an answer to a fetch with commits withheld or another batch; other messages untouched', () => {
    const answer: PbftMessage = { type: 'committed', batches: [{ batch, commits }, { batch: nullBatch(0, 2, 0), commits }] };
    const bad = hooks.corruptAnswer!(answer, keys.signers[2]!, 2) as Extract<PbftMessage, { type: 'committed' }>;
    expect(bad.batches[0]!.commits.length).toBeLessThan(keys.validators.quorum);
    expect(bad.batches[1]!.batch.hash).not.toEqual(nullBatch(0, 2, 0).hash);
    expect(hooks.corruptAnswer!({ type: 'commit', statement: commits[0]! }, keys.signers[2]!, 2)).toBeUndefined();
    // From a finalized chain: the first block replaced.
    const final = hooks.corruptAnswer!({ type: 'final', proof: undefined, blocks: [batch], headers: [] }, keys.signers[2]!, 2) as Extract<PbftMessage, { type: 'final' }>;
    expect(final.blocks[0]!.hash).not.toEqual(batch.hash);
  });
});
