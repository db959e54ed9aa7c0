// HotStuff memory: a Byzantine leader re-signs its OLD proposals (views more than EVIDENCE_VIEWS=16
// below the receiver's view, so no equivocation check) with fresh payloads. Each is valid (its
// justify QC(v-1) is real, its parent is joined), so BlockStore kept every one as a joined fork
// block, forever, and footprint() did not count them. Fixed: such proposals are refused unread
// and counted as dropped; the store holds only the blocks above the committed tip (counted).
import { hotstuff } from '@bftx/hotstuff';
import { makeBlock, signStatement } from '@bftx/consensus';
import { Domains } from '@bftx/crypto';
import { Runtime, Rng, randNet } from './rt.ts';
const seed = Number(process.argv[2] ?? 1), flood = Number(process.argv[3] ?? 20000);
const n = 4, delta = 10, rng = new Rng(seed), B = 3;
const rt = new Runtime(hotstuff(), n, delta, randNet(rng, delta, 0));
const mine: any[] = [];
rt.byz.set(B, { filter: (_rt, _i, o) => { if ((o.type === 'broadcast') && o.message.type === 'proposal') mine.push(o.message); return [o]; } });
for (let i = 0; i < n; i++) rt.start(i);
rt.run(2000);
const target: any = rt.inst[0];
// The harness's SimulatedSignatureScheme caches every signature it makes (up to 100,000), the
// attacker's too: cleared before each measure, so the heap shows what the replica holds.
const measure = (label: string) => { (rt.scheme as any).made.clear(); (rt.scheme as any).madeCount = 0; (globalThis as any).gc?.(); console.log(label, 'view', target.view, 'store joined', target.store.joined.size, 'footprint', JSON.stringify(target.footprint()), 'heapMB', (process.memoryUsage().heapUsed / 1e6).toFixed(1)); };
measure('before flood');
const old = mine.filter((m) => m.block.view + 20 < target.view);
console.log('old proposals of the byzantine leader', old.length);
const t0 = Date.now();
for (let k = 0; k < flood; k++) {
  const m = old[k % old.length];
  const b = makeBlock({ parent: m.block.parent, height: m.block.height, view: m.block.view, proposer: B, payload: [new Uint8Array([k & 255, (k >> 8) & 255, (k >> 16) & 255, 7, 7, 7, 7, 7])] });
  const signature = signStatement(rt.signers[B]!, B, Domains.proposal, { view: b.view, sequence: 0, blockHash: b.hash }).signature;
  rt.inject(B, 0, { ...m, block: b, signature });
  if (k % 1000 === 999) rt.run(rt.now + 1);
}
rt.run(rt.now + 5);
measure(`after ${flood} validly signed old-view proposals (${Date.now() - t0} ms)`);
rt.run(rt.now + 1000);
measure('1 s later');
rt.checkAgreement();
console.log('violations', rt.violations.slice(0, 3), 'evidence', rt.evidence.length);
