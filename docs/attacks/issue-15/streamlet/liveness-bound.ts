// Liveness bound (6 views of 2 delta + 1 after GST, honest leaders): a crafted pre-GST loss pattern, f = 1 silent
// Byzantine replica after GST, every post-GST delay exactly delta, honest leaders only after GST.
// n = 4: A=0, B=1, C=2 honest, D=3 Byzantine (votes honestly before GST, silent from GST on).
// usage: node --conditions=@bftx/source --import tsx liveness-bound.ts [delta] [e]
import { World, def } from './rt';

const delta = Number(process.argv[2] ?? 10);
const e = Number(process.argv[3] ?? 10);
const L = 2 * delta + 1;
const n = 4, A = 0, B = 1, C = 2, D = 3;
const gst = e * L + 1;
// leaders: round robin over honest before e; then e: A, e+1: C, e+2: A, e+3: B, then C, A, B, ...
const sched: number[] = [];
for (let x = 0; x < e; x++) sched.push([A, B, C][x % 3]!);
sched.push(A, C, A, B);
for (let x = 0; x < 200; x++) sched.push([C, A, B][x % 3]!);
const voteish = (t: string) => t === 'vote' || t === 'notarization' || t === 'block';
const w = new World({
  n, byz: [D], delta, gst, seed: 1, leaderSchedule: sched, ties: 'random',
  delay: (_w, _from, to, m, now) => {
    if (now >= gst) return delta;
    const ep = Math.floor(now / L);
    if (ep === e - 2 && voteish(m.type)) return undefined; // view e-2 notarizes nothing
    if (ep === e && to === B) return undefined; // B hears nothing of view e before GST
    if (ep === e && to === C && voteish(m.type)) return undefined; // C votes for X but never learns it is notarized
    return 0;
  },
});
const d = w.reps[D]!;
d.byzOut = (o, now) => { if (now < gst || o.type === 'set-timer' || o.type === 'persist') w.carryPlain(d, o); };
w.start();
let k = 0;
for (let t = 1; t < (e + 40) * L; t += L) w.at(t, () => w.offer([new Uint8Array([k & 255, (k++ >> 8) & 255, 3])]));
w.runUntil(gst);
const at = w.heights();
if (process.argv[4] === 'trace') for (let x = e; x <= e + 7; x++) w.at(x * L + L - 0.5, () => console.log(`end of view ${x} (leader ${sched[x]}): longest notarized height`, [A, B, C].map((i) => (w.reps[i]!.inst as any).tree.longestCertifiedHeight), 'ledger', w.heights()));
const first: (number | undefined)[] = [undefined, undefined, undefined];
w.runUntil(gst + 30 * L, () => { w.honest.forEach((i, j) => { if (first[j] === undefined && w.reps[i]!.ledger.height > at[j]!) first[j] = w.now - gst; }); });
w.checkAgreement();
const bound = def.livenessBound({ delta }, n); // 7 views since the F4 fix (6 before)
console.log(JSON.stringify({ delta, viewLength: L, gst, heightsAtGst: at, firstNewFinalizationAfterGst_ms: first, bound_ms: bound, violations: w.violations }));
console.log(first.some((t) => t === undefined || t > bound) ? `RESULT: LIVENESS BOUND EXCEEDED (first new finalization ${JSON.stringify(first)} ms after GST > ${bound} ms)` : 'RESULT: within bound');
