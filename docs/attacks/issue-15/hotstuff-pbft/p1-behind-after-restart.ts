// PBFT: a replica down long enough to be more than L=32 batches behind; every other replica restarts
// (they now serve only their last L executed batches); then one replica (f = 1) crashes for good.
// The replica that was behind can never fetch the batches it misses, so it can never sign the
// checkpoints a quorum now needs: the stable checkpoint stops, the watermark window fills, and the
// whole cluster halts for good after GST with only f crashed and an honest leader available.
import { pbft } from '@bftx/pbft';
import { Runtime, Rng, randNet } from './rt.ts';
const seed = Number(process.argv[2] ?? 1), n = Number(process.argv[3] ?? 4), mode = process.argv[4] ?? 'attack';
const delta = 10, rng = new Rng(seed);
const rt = new Runtime(pbft(), n, delta, randNet(rng, delta, 0));
for (let i = 0; i < n; i++) rt.start(i);
const f = rt.f, behind = n - 1;
rt.at(100, () => rt.crash(behind));
rt.at(3000, () => {
  if (mode === 'attack') for (let i = 0; i < n - 1; i++) { rt.crash(i); rt.start(i); } // every other replica restarts (one at a time, same instant)
  rt.start(behind);
});
rt.at(3500, () => { for (let k = 0; k < f; k++) rt.crash(n - 2 - k); }); // f replicas crash for good
rt.run(3500);
const h1 = rt.heights();
rt.run(10_000);
const h10 = rt.heights();
rt.run(40_000);
rt.checkAgreement();
const h2 = rt.heights();
console.log('mode', mode, 'n', n, 'f', f, 'heights at 3.5 s', h1.join(','), 'at 40 s', h2.join(','));
console.log('views', (rt.inst as any[]).map((p) => p?.view ?? 'down').join(','), 'stable', (rt.inst as any[]).map((p) => p?.stable.seq ?? '-').join(','), 'lastExecuted', (rt.inst as any[]).map((p) => p?.lastExecuted ?? '-').join(','));
console.log('violations', rt.violations.slice(0, 3));
const live = [...Array(n).keys()].filter((i) => rt.inst[i]);
console.log('heights at 10 s', h10.join(','));
console.log(live.every((i) => h2[i] === h10[i]) ? 'LIVENESS BROKEN: nothing finalized by any live replica between 10 s and 40 s' : 'progress', 'live', live.join(','));
