// Found by an outside attack after issue 15 (docs/attacks/issue-15/hotstuff-pbft, H4): before GST
// some replicas formed TC(v) and moved on while the others missed timeouts of view v. Nobody
// re-sends the timeouts of a view it left, so the others waited in v for ever. Now a replica that
// left v with a TC answers a timeout for v with that TC.
import { SimulatedSignatureScheme, ValidatorSet, type Protocol, type ProtocolOutput } from '@bftx/consensus';
import { hotstuff, type HotStuffMessage } from '../src/index';

const N = 4;
const scheme = new SimulatedSignatureScheme();
const signers = Array.from({ length: N }, (_, i) => scheme.signer(scheme.keyPair(i).secretKey));
const validators = new ValidatorSet(signers.map((s) => s.publicKey));
const def = hotstuff();
const make = (self: number): Protocol<HotStuffMessage> => def.create({ self, validators, scheme, signer: signers[self]!, timing: { delta: 10 } });
const timeoutsIn = (out: ProtocolOutput<HotStuffMessage>[]) => out.flatMap((o) => (o.type === 'broadcast' && o.message.type === 'timeout' ? [o.message] : []));
const viewsEntered = (out: ProtocolOutput<HotStuffMessage>[]) => out.flatMap((o) => (o.type === 'trace' && o.event.kind === 'view' ? [o.event.view] : []));

test('a replica left behind in a view that ended with a TC gets the TC when its timeout is re-sent, and moves on', () => {
  const r = [0, 1, 2, 3].map(make);
  r.forEach((x) => x.step({ type: 'start', now: 0 }));
  // View 1 times out at 0, 1 and 3 (2 is silent); only replica 0 hears the others' timeouts.
  const t1 = [0, 1, 3].map((i) => timeoutsIn(r[i]!.step({ type: 'timer', timer: 'view', now: 100 }))[0]!);
  let entered: number[] = [];
  for (const [k, m] of t1.entries()) if (k > 0) entered = entered.concat(viewsEntered(r[0]!.step({ type: 'message', from: [0, 1, 3][k]!, message: m, now: 101 })));
  expect(entered).toContain(2); // replica 0 formed TC(1)
  // Replica 1 is still in view 1: its timer fires again and it re-sends its timeout for view 1.
  const again = timeoutsIn(r[1]!.step({ type: 'timer', timer: 'view', now: 200 }));
  expect(again.map((m) => m.timeout.statement.view)).toEqual([1]);
  const answer = r[0]!.step({ type: 'message', from: 1, message: again[0]!, now: 201 });
  const tc = answer.flatMap((o) => (o.type === 'send' && o.to === 1 && o.message.type === 'tc' ? [o.message] : []));
  expect(tc).toHaveLength(1);
  // The TC survives the wire and moves replica 1 to view 2.
  const delivered = def.decodeMessage(def.encodeMessage(tc[0]!));
  expect(viewsEntered(r[1]!.step({ type: 'message', from: 0, message: delivered, now: 202 }))).toContain(2);
  // Every timeout a TC carries is a statement its signer made: the audit sees them.
  expect(def.votes(delivered).length).toBeGreaterThanOrEqual(validators.quorum);
});

test('a TC for a view already left, or far ahead, is refused without checking it; a forged one changes nothing', () => {
  const a = make(0);
  a.step({ type: 'start', now: 0 });
  const forged: HotStuffMessage = { type: 'tc', tc: { view: 5, timeouts: [1, 2, 3].map((signer) => ({ domain: 'bftx.timeout', view: 5, sequence: 0, blockHash: new Uint8Array(32), signer, signature: new Uint8Array(64) })) } };
  expect(viewsEntered(a.step({ type: 'message', from: 1, message: forged, now: 1 }))).toEqual([]);
  const far: HotStuffMessage = { type: 'tc', tc: { ...(forged as Extract<HotStuffMessage, { type: 'tc' }>).tc, view: 10_000 } };
  const before = a.footprint!().dropped;
  a.step({ type: 'message', from: 1, message: far, now: 2 });
  expect(a.footprint!().dropped).toBe(before + 1);
});
