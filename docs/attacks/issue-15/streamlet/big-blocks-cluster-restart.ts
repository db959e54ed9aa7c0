// Finding candidate: whole-cluster restart loses the bodies of the notarized chain above the finalized tip
// when they do not fit the 128 KiB budget of the safety state (or the 24-block cap): every replica's lock
// then names a block nobody holds, and no replica can ever propose or vote again.
// usage: node --conditions=@bftx/source --import tsx big-blocks-cluster-restart.ts [txBytes] [oddViews] [byz]
import { World } from './rt';

const txBytes = Number(process.argv[2] ?? 50_000);
const oddViews = Number(process.argv[3] ?? 3); // how many notarized blocks (in odd views only) before the crash
const n = 4;
const withByz = process.argv[4] === 'byz'; // replica 3 Byzantine: honest until the crash, silent after; only the 3 honest restart
const delta = 10;
const L = 2 * delta + 1;
const crashAt = (2 * oddViews) * L + 15; // in the even view after the last odd one: votes cast, lock moved up
const restartAt = crashAt + 5;
const gst = restartAt;
const w = new World({
  n, byz: withByz ? [3] : [], delta, gst, seed: 1,
  delay: (w, _from, _to, m, now) => {
    if (now < gst) {
      const e = Math.floor(now / L);
      if (e % 2 === 0 && (m.type === 'vote' || m.type === 'notarization' || m.type === 'block')) return undefined; // loss before GST
      return delta;
    }
    return delta;
  },
});
if (withByz) { const d = w.reps[3]!; d.byzOut = (o, now) => { if (now < crashAt || o.type === 'set-timer' || o.type === 'persist') w.carryPlain(d, o); }; }
w.start();
let k = 0;
for (let t = 1; t < 400 * L; t += L) w.at(t, () => w.offer([1, 2, 3].map(() => { const b = new Uint8Array(txBytes); b[0] = k & 255; b[1] = (k >> 8) & 255; b[2] = (k++ >> 16) & 255; return b; })));
w.runUntil(crashAt);
const info = (r: any) => ({ id: r.id, ledger: r.ledger.height, longest: r.inst.tree.longestCertifiedHeight, lock: r.inst.lock.height, fin: r.inst.finalized.height, persistBytes: r.durable?.length });
console.log('before crash', w.reps.map(info));
const down = withByz ? w.reps.slice(0, 3) : w.reps;
for (const r of down) w.crash(r);
w.at(restartAt, () => { for (const r of down) w.restart(r); });
w.runUntil(restartAt + 1);
console.log('after restart', w.reps.map(info));
const h0 = w.heights();
w.runUntil(restartAt + 200 * L);
w.checkAgreement();
console.log('200 views after GST (restart):', w.reps.map(info));
console.log('ledger heights at GST', h0, 'now', w.heights(), 'violations', w.violations.slice(0, 5));
const stuck = w.heights().every((h, i) => h === h0[i]);
console.log(stuck ? 'RESULT: HALTED (no honest replica finalized anything in 200 views after GST)' : 'RESULT: progressed');
