import type { ByzantineHooks, Protocol, ProtocolInput, ProtocolOutput } from '@bftx/consensus';
import { byzantine } from '../src/index';

type Msg = { kind: 'vote' | 'proposal'; by: number; alt?: boolean; bad?: boolean };
const honest: Protocol<Msg> = {
  self: 1,
  step(input: ProtocolInput<Msg>): ProtocolOutput<Msg>[] {
    if (input.type !== 'timer') return [];
    return [
      { type: 'broadcast', message: { kind: 'proposal', by: 1 } },
      { type: 'broadcast', message: { kind: 'vote', by: 1 } },
      { type: 'persist', state: new Uint8Array(1) },
    ];
  },
};
const hooks: ByzantineHooks<Msg> = {
  conflicting: (m) => ({ ...m, alt: true }),
  isVote: (m) => m.kind === 'vote',
  withBadSignature: (m) => ({ ...m, bad: true }),
  withForgedParent: () => undefined,
  voteFor: (m, _s, self) => (m.kind === 'proposal' ? { kind: 'vote', by: self } : undefined),
  signerOf: (m) => m.by,
  proposedBlock: () => undefined,
  reparent: () => undefined,
};
const signer = { publicKey: new Uint8Array(32), sign: () => new Uint8Array(64) };
const tick = { type: 'timer' as const, timer: 't', now: 100 };

describe('Byzantine wrappers around an honest instance', () => {
  test('silent sends nothing but keeps other outputs; crash stops everything at its time', () => {
    expect(byzantine(honest, { kind: 'silent' }, hooks, signer, 4).step(tick).map((o) => o.type)).toEqual(['persist']);
    expect(byzantine(honest, { kind: 'crash', at: 100 }, hooks, signer, 4).step(tick)).toEqual([]);
    expect(byzantine(honest, { kind: 'crash', at: 101 }, hooks, signer, 4).step(tick)).toHaveLength(3);
  });
  test('equivocate splits the others in halves; withhold-votes drops votes; invalid-signatures corrupts all', () => {
    const eq = byzantine(honest, { kind: 'equivocate' }, hooks, signer, 5).step(tick).filter((o) => o.type === 'send');
    const proposals = eq.filter((o) => o.type === 'send' && o.message.kind === 'proposal');
    expect(proposals.map((o) => (o.type === 'send' ? [o.to, !!o.message.alt] : []))).toEqual([[0, false], [2, false], [3, true], [4, true]]);
    const wh = byzantine(honest, { kind: 'withhold-votes' }, hooks, signer, 4).step(tick);
    expect(wh.filter((o) => o.type === 'send' && o.message.kind === 'vote')).toHaveLength(0);
    const bad = byzantine(honest, { kind: 'invalid-signatures' }, hooks, signer, 4).step(tick);
    expect(bad.filter((o) => o.type === 'send').every((o) => o.type === 'send' && o.message.bad)).toBe(true);
  });
  test('double-vote votes for every proposal it receives and relays nothing of others', () => {
    const dv = byzantine(honest, { kind: 'double-vote' }, hooks, signer, 4);
    const out = dv.step({ type: 'message', from: 0, message: { kind: 'proposal', by: 0 }, now: 5 });
    expect(out.map((o) => (o.type === 'send' ? `${o.to}:${o.message.kind}:${o.message.by}` : o.type))).toEqual(['0:vote:1', '2:vote:1', '3:vote:1']);
  });
  test('vote-twice sends each of its votes with a conflicting one beside it, other messages once', () => {
    const out = byzantine(honest, { kind: 'vote-twice' }, hooks, signer, 3).step(tick);
    expect(out.map((o) => (o.type === 'send' ? `${o.to}:${o.message.kind}${o.message.alt ? '*' : ''}` : o.type))).toEqual(['0:proposal', '2:proposal', '0:vote', '0:vote*', '2:vote', '2:vote*', 'persist']);
  });
  test('delay adds the chosen delay to each send', () => {
    const out = byzantine(honest, { kind: 'delay', by: 300 }, hooks, signer, 3).step(tick);
    expect(out.filter((o) => o.type === 'send-delayed').every((o) => o.type === 'send-delayed' && o.delay === 300)).toBe(true);
  });
});
