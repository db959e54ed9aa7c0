// Issue 15, item 10: a Byzantine replica floods validly signed messages for far-future views and
// sequence numbers. What an honest replica keeps stays under one bound, whatever the flood's size:
// per validator, only its highest view change and its highest checkpoint above the window; messages
// for views above the replica's are refused (and counted), whatever is in the window is bounded by
// the window. Before, every such view change and checkpoint was kept, and each view change made the
// replica scan every stored view (8,000 of them: 17.6 s).
import { GENESIS, signStatement, type Protocol } from '@bftx/consensus';
import { PbftDomains, pbft, preparedDigest, type PbftMessage } from '../src/index';
import { clusterKeys, replicaConfig } from './helpers';

const n = 4;
const BYZANTINE = 3;
const K = 8;

function floodMessages(keys: ReturnType<typeof clusterKeys>, i: number): PbftMessage[] {
  const signer = keys.signers[BYZANTINE]!;
  const view = 100 + i;
  const digest = new Uint8Array(32).fill(i % 251);
  const statement = (domain: string, view: number, sequence: number, blockHash: Uint8Array) => signStatement(signer, BYZANTINE, domain, { view, sequence, blockHash });
  const prePrepareOf = statement(PbftDomains.prePrepare, view, 1, digest);
  return [
    { type: 'view-change', viewChange: { statement: statement(PbftDomains.viewChange, view, 0, preparedDigest([])), stable: { sequence: 0, digest: GENESIS.hash, statements: [] }, prepared: [] } },
    { type: 'commit', statement: statement(PbftDomains.commit, view, 1 + (i % 32), digest) },
    { type: 'prepare', statement: statement(PbftDomains.prepare, view, 1 + (i % 32), digest), prePrepare: prePrepareOf },
    { type: 'checkpoint', statement: statement(PbftDomains.checkpoint, 0, K * view, digest) },
    // Inside the window but for old or current views: a commit for view 0 with another batch at every sequence number.
    { type: 'commit', statement: statement(PbftDomains.commit, 0, 1 + (i % 32), new Uint8Array(32).fill((i + 1) % 251)) },
  ];
}

function flood(count: number): { replica: Protocol<PbftMessage>; microsPerMessage: number } {
  const keys = clusterKeys(n);
  const replica = pbft().create(replicaConfig(keys, 0));
  replica.step({ type: 'start', now: 0 });
  let messages = 0;
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < count; i++) {
    for (const message of floodMessages(keys, i)) {
      replica.step({ type: 'message', from: BYZANTINE, message, now: 1 });
      messages++;
    }
  }
  const micros = Number(process.hrtime.bigint() - t0) / 1000;
  return { replica, microsPerMessage: micros / messages };
}

describe('pbft: bounded state under a flood of validly signed far-future messages', () => {
  test('footprint().retained stays under one bound for 2,000 and 20,000 flooded rounds; far-future messages are dropped and counted', () => {
    const small = flood(2_000);
    const large = flood(20_000);
    const a = small.replica.footprint!();
    const b = large.replica.footprint!();
    // The bound: the window (L = 32 sequence numbers) of a few views, n view changes, n highest checkpoints.
    const bound = 3 * 32 * (1 + 2 * n) + 2 * n;
    expect(a.retained).toBeLessThanOrEqual(bound);
    expect(b.retained).toBeLessThanOrEqual(bound);
    expect(b.retained).toBe(a.retained);
    expect(b.dropped).toBeGreaterThanOrEqual(3 * 20_000 - 10);
    // Measured, not asserted (CPU time is noisy here): the cost per message does not grow with the flood.
    console.log(`far-future flood: ${small.microsPerMessage.toFixed(1)} us/message over ${5 * 2_000} messages, ${large.microsPerMessage.toFixed(1)} us/message over ${5 * 20_000}; retained ${a.retained} and ${b.retained}, dropped ${a.dropped} and ${b.dropped}`);
  });

  test('the replica still works after the flood: the flood left nothing that blocks a view change to view 1', () => {
    const { replica } = flood(500);
    const out = replica.step({ type: 'timer', timer: 'progress', now: 1000 });
    expect(out.some((o) => o.type === 'broadcast' && o.message.type === 'view-change' && o.message.viewChange.statement.view === 1)).toBe(true);
  });
});
