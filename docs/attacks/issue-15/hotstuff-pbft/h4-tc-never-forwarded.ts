// HotStuff liveness: a replica that formed TC(v) moves to v+1 and from then on re-sends only its
// view v+1 timeout; nobody ever re-sends view-v timeouts or forwards TC(v) except inside the
// proposal of the leader of v+1. If that leader is Byzantine (silent) and the view-v timeouts of
// some replicas were lost before GST (or were in flight to a replica that crashed), the replicas
// left in view v can never form TC(v), and fewer than f+1 replicas are in v+1 to make them join:
// the cluster is stuck for good after GST. No restart needed.
// args: seed n gst [restart]   (restart: the laggards lose the timeouts by crashing instead of loss)
import { hotstuff } from '@bftx/hotstuff';
import { Runtime, Rng } from './rt.ts';
const seed = Number(process.argv[2] ?? 1), n = Number(process.argv[3] ?? 4), gst = Number(process.argv[4] ?? 300), mode = process.argv[5] ?? 'loss';
const delta = 10, rng = new Rng(seed);
const rt0: { rt?: Runtime } = {};
const f = Math.floor((n - 1) / 3);
// Byzantine (silent): the leader of view 2, and f-1 others.
const byz = new Set<number>(process.argv[6] ? process.argv[6].split(',').map(Number) : [2]);
for (let i = n - 1; byz.size < f; i--) if (i !== 1) byz.add(i);
// ahead: f honest replicas (< f+1) that will be the only ones to see TC(1).
const honest = [...Array(n).keys()].filter((i) => !byz.has(i));
const ahead = new Set(honest.filter((i) => i !== 2).slice(0, f)); // the leader of view 2 (if honest) stays a laggard
const net = {
  delay(from: number, to: number, m: any, now: number) {
    if (now < gst) {
      if (m.type === 'proposal' || m.type === 'vote') return undefined; // view 1 makes no QC
      if (mode === 'loss' && m.type === 'timeout' && ahead.has(from) && !ahead.has(to)) return undefined; // the laggards miss the ahead ones' view-1 timeouts
    }
    return rng.int(delta + 1);
  },
};
const rt = new Runtime(hotstuff(), n, delta, net);
rt0.rt = rt;
for (const b of byz) rt.byz.set(b, { filter: () => [] });
for (let i = 0; i < n; i++) rt.start(i);
if (mode === 'restart') {
  // instead of loss: the laggards crash while the ahead ones' view-1 timeouts are in flight to them
  rt.at(40 + 1, () => { for (const i of honest) if (!ahead.has(i)) rt.crash(i); });
  rt.at(60, () => { for (const i of honest) if (!ahead.has(i)) rt.start(i); });
}
rt.run(gst + 60_000);
const st = (rt.inst as any[]).map((p, i) => (byz.has(i) ? 'byz' : `v${p.view}/to${p.timedOutView}/hq${p.highQC.view}`));
console.log(`n=${n} f=${f} byz=[${[...byz]}] ahead=[${[...ahead]}] mode=${mode} gst=${gst}`);
console.log('state 60 s after GST:', st.join(' '), 'heights', rt.heights().join(','));
rt.checkAgreement();
console.log('violations', rt.violations.slice(0, 3));
console.log(rt.heights().every((h) => h === 0) ? 'LIVENESS BROKEN: nothing finalized in 60 s after GST' : 'progress');
