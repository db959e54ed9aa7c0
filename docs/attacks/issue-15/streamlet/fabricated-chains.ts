// Memory: a Byzantine leader (validly signed proposals only, two per view it leads) makes every honest
// replica fetch and keep fabricated fork chains in its block tree, which is never pruned and not counted
// by footprint().retained. Measures honest tree size vs finalized chain height.
// usage: node --conditions=@bftx/source --import tsx fabricated-chains.ts [views] [chainLen] [txBytes]
import { World } from './rt';
import { streamletLeader, type StreamletMessage } from '@bftx/streamlet';
import { signStatement, makeBlock, GENESIS, type Block } from '@bftx/consensus';
import { Domains, toHex, utf8 } from '@bftx/crypto';

const views = Number(process.argv[2] ?? 200);
const K = Number(process.argv[3] ?? 200);
const txBytes = Number(process.argv[4] ?? 0);
const n = 4, delta = 10, L = 2 * delta + 1, b = 3;
const w = new World({ n, byz: [b], delta, gst: 0, seed: 5 });
const r = w.reps[b]!;
const signer = w.signers[b]!;
const fab = new Map<string, Block>();
r.byzOut = (o) => w.carryPlain(r, o); // otherwise honest (the cluster keeps finalizing with it)
r.byzIn = (from, m) => {
  if (m.type !== 'fetch') return;
  const x = fab.get(toHex(m.blockHash));
  if (!x) return;
  const anc: Block[] = [];
  for (let a = fab.get(x.parentId); a && anc.length < 16; a = fab.get(a.parentId)) anc.push(a);
  w.send(b, from, { type: 'block', block: x, votes: [], ancestors: anc }, 0);
};
let salt = 0;
for (let e = 1; e < views; e++) {
  if (streamletLeader(e, n) !== b) continue;
  for (const at of [e * L + 1, e * L + 2]) w.at(at, () => {
    let parent: Block = GENESIS;
    const pad = txBytes > 0 ? [new Uint8Array(txBytes).fill(salt & 255)] : [];
    for (let i = 0; i < K; i++) { parent = makeBlock({ parent: parent.hash, height: parent.height + 1, view: 0, proposer: b, payload: [utf8(`fab-${salt++}`), ...pad] }); fab.set(parent.id, parent); }
    const top = makeBlock({ parent: parent.hash, height: parent.height + 1, view: e, proposer: b, payload: [] });
    const m: StreamletMessage = { type: 'proposal', block: top, signature: signStatement(signer, b, Domains.proposal, { view: e, sequence: 0, blockHash: top.hash }).signature };
    for (let to = 0; to < n; to++) if (to !== b) w.send(b, to, m);
  });
}
w.start();
let k = 0;
for (let t = 1; t < views * L; t += L) w.at(t, () => w.offer([new Uint8Array([k & 255, (k++ >> 8) & 255, 1])]));
const report = (label: string) => {
  const rows = [0, 1, 2].map((i) => {
    const inst = w.reps[i]!.inst as any;
    const blocks = inst.tree.blocks as Map<string, Block>;
    let bytes = 0;
    for (const x of blocks.values()) for (const t of x.payload) bytes += t.length;
    return { id: i, ledger: w.reps[i]!.ledger.height, treeBlocks: blocks.size, payloadBytesInTree: bytes, retained: inst.footprint().retained, dropped: inst.footprint().dropped, maxRetained: w.reps[i]!.maxRetained };
  });
  console.log(label, JSON.stringify(rows));
};
for (const q of [0.25, 0.5, 0.75, 1]) { w.runUntil(Math.floor(views * q) * L); report(`view ${Math.floor(views * q)}`); }
w.checkAgreement();
console.log('violations', w.violations.slice(0, 3), 'byz-led views', Array.from({ length: views }, (_, e) => e).filter((e) => e > 0 && streamletLeader(e, n) === b).length);
