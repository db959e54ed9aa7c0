// Stated liveness bound vs measured: max gap between new finalized blocks (any honest replica's
// ledger growth, per replica) after GST, all delays exactly delta (or exactly 0/delta), f silent.
import { hotstuff } from '@bftx/hotstuff';
import { pbft } from '@bftx/pbft';
import { Runtime, Rng } from './rt.ts';
// place: 'spread' (default: f silent at n-1, n-4, ...) or 'adjacent' (n-1, n-2, ...: their views time out in one streak, the worst case).
const proto = process.argv[2] ?? 'hotstuff', mode = process.argv[3] ?? 'delta', place = process.argv[4] ?? 'spread';
const def: any = proto === 'pbft' ? pbft() : hotstuff();
for (let n = 4; n <= 13; n++) {
  const delta = 10, rng = new Rng(n);
  const rt = new Runtime(def, n, delta, { delay: () => (mode === 'delta' ? delta : rng.next() < 0.5 ? 0 : delta) });
  const f = rt.f;
  for (let k = 0; k < f; k++) rt.byz.set(place === 'adjacent' ? n - 1 - k : n - 1 - 3 * k, { filter: () => [] });
  for (let i = 0; i < n; i++) rt.start(i);
  rt.run(10_000);
  const bound = def.livenessBound({ delta }, n);
  let worst = 0;
  for (const i of rt.honest()) { const ts = [2000, ...rt.commitTimes[i]!.filter((t) => t > 2000), 10_000]; for (let k = 1; k < ts.length; k++) worst = Math.max(worst, ts[k]! - ts[k - 1]!); }
  console.log(proto, mode, place, `n=${n} f=${f} silent=${[...rt.byz.keys()]} heights=${rt.heights().join(',')} worstGapAfter2s=${worst} bound=${bound} ${worst > bound ? 'EXCEEDS BOUND' : 'ok'}`);
}
