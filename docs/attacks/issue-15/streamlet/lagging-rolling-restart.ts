// Finding candidate: a replica that was down while the others finalized more than 8 blocks can never catch
// up once every other honest replica has restarted (one at a time, a rolling restart) since: nobody holds
// the finalized blocks between its root and theirs (each keeps only its last 8 final bodies).
// mode 'honest': n=4 all honest, replica 3 lags (its ledger stays put).
// mode 'byz': n=4, replica 3 Byzantine (honest until the lagging replica returns, then silent): the cluster halts.
// usage: node --conditions=@bftx/source --import tsx lagging-rolling-restart.ts [honest|byz] [downViews] [seed]
import { World } from './rt';

const mode = process.argv[2] ?? 'honest';
const downViews = Number(process.argv[3] ?? 40);
const seed = Number(process.argv[4] ?? 1);
const n = 4;
const delta = 10;
const L = 2 * delta + 1;
const lagging = mode === 'byz' ? 2 : 3;
const byz = mode === 'byz' ? [3] : [];
const back = downViews * L + 3;
const w = new World({ n, byz, delta, gst: 0, seed }); // synchronous all along: delays uniform in [0, delta]
const silentFrom = back;
if (mode === 'byz') {
  const r = w.reps[3]!;
  r.byzOut = (o, now) => { if (now < silentFrom) w.carryPlain(r, o); else if (o.type === 'set-timer' || o.type === 'persist') w.carryPlain(r, o); };
}
w.start();
let k = 0;
for (let t = 1; t < (downViews + 300) * L; t += L) w.at(t, () => w.offer([new Uint8Array([k & 255, (k++ >> 8) & 255, 7])]));
// the lagging replica is down from t=5 (before anything is final) ...
w.at(5, () => w.crash(w.reps[lagging]!));
// ... while the others restart one at a time (each down for 2 views: with n=4 and one down, progress pauses)
const others = [0, 1, 2, 3].filter((i) => i !== lagging && !byz.includes(i));
others.forEach((i, j) => {
  const t = Math.floor(((j + 1) * downViews * L) / (others.length + 1));
  w.at(t, () => w.crash(w.reps[i]!));
  w.at(t + 2 * L, () => w.restart(w.reps[i]!));
});
w.at(back, () => w.restart(w.reps[lagging]!));
w.runUntil(back);
const info = (r: any) => ({ id: r.id, alive: r.alive, ledger: r.ledger.height, fin: r.inst.finalized?.height, restarts: r.restarts });
console.log('when the lagging replica returns:', JSON.stringify(w.reps.map(info)));
const h0 = w.heights();
w.runUntil(back + 200 * L);
w.checkAgreement();
console.log('200 views later:', JSON.stringify(w.reps.map(info)));
console.log('honest ledger heights then', h0, 'now', w.heights(), 'violations', w.violations.slice(0, 5));
const lagH = w.reps[lagging]!.ledger.height;
console.log(lagH === 0 ? `RESULT: replica ${lagging} never catches up (ledger height 0 after 200 views)` : `RESULT: replica ${lagging} caught up to ${lagH}`);
if (mode === 'byz') console.log(`RESULT: in 200 views after the lagging replica returned (f=1 Byzantine silent), the honest replicas finalized ${Math.max(...w.heights()) - Math.max(...h0)} new blocks`);
