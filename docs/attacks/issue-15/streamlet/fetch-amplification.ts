// Bandwidth amplification: a Byzantine replica floods fetches (after = 0) for a recent finalized block; each
// honest replica answers every one with the block, its votes and up to 16 ancestors. Nothing is kept (memory
// holds), but bytes out per byte in are measured.
// usage: node --conditions=@bftx/source --import tsx fetch-amplification.ts [fetches] [txBytes]
import { World } from './rt';
import { encodeStreamletMessage, type StreamletMessage } from '@bftx/streamlet';

const fetches = Number(process.argv[2] ?? 1000);
const txBytes = Number(process.argv[3] ?? 1000);
const n = 4, delta = 10, L = 2 * delta + 1, b = 3;
const w = new World({ n, byz: [b], delta, gst: 0, seed: 9 });
const r = w.reps[b]!;
r.byzOut = (o) => w.carryPlain(r, o);
let bytesIn = 0, bytesOut = 0, counting = false;
const orig = w.send.bind(w);
w.send = (from, to, m, extra) => {
  if (counting && from !== b && to === b && m.type === 'block') bytesOut += encodeStreamletMessage(m).length;
  orig(from, to, m, extra);
};
w.start();
let k = 0;
for (let t = 1; t < 60 * L; t += L) w.at(t, () => w.offer([new Uint8Array(txBytes).fill(k++ & 255)]));
w.runUntil(40 * L);
const tip = w.reps[0]!.ledger.tip;
counting = true;
const m: StreamletMessage = { type: 'fetch', blockHash: tip.hash, after: 0 };
const size = encodeStreamletMessage(m).length;
for (let i = 0; i < fetches; i++) for (const to of [0, 1, 2]) { bytesIn += size; w.send(b, to, m, 0); }
w.runUntil(41 * L);
counting = false;
console.log(JSON.stringify({ fetches: fetches * 3, bytesIn, answerBytesOut: bytesOut, amplification: +(bytesOut / bytesIn).toFixed(1), retained: [0, 1, 2].map((i) => (w.reps[i]!.inst as any).footprint()) }));
