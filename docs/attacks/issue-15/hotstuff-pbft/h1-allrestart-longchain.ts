// HotStuff: pre-GST loss of the votes of every even view keeps a long certified chain uncommitted
// (no 3 consecutive certified views); then every replica crashes at once and restarts from its
// persisted state. Persisted state keeps only the PERSISTED_BLOCKS=8 highest blocks above the
// committed tip, so the chain from the tip to them exists nowhere: no commit ever again.
import { hotstuff } from '@bftx/hotstuff';
import { Runtime, Rng, randNet } from './rt.ts';
const seed = Number(process.argv[2] ?? 1), n = Number(process.argv[3] ?? 4), dropViews = Number(process.argv[4] ?? 400);
const delta = 10, rng = new Rng(seed);
const crashAt = dropViews, gst = crashAt + 50;
const rt = new Runtime(hotstuff(), n, delta, randNet(rng, delta, gst, { maxPre: delta, lossFn: (m) => m.type === 'vote' && m.vote.view % 2 === 0 }));
for (let i = 0; i < n; i++) rt.start(i);
rt.run(crashAt);
const before = rt.heights();
const views = (rt.inst as any[]).map((p) => [p.view, p.highQC.view, p.committedTip.height]);
console.log('before crash heights', before.join(','), 'view/highQC/tip', JSON.stringify(views));
const control = process.argv[5] === "control";
if (!control) for (let i = 0; i < n; i++) rt.crash(i);
if (!control) rt.at(gst, () => { for (let i = 0; i < n; i++) rt.start(i); });
rt.run(gst + 30_000);
rt.checkAgreement();
const after = rt.heights();
console.log('after restart +30s heights', after.join(','), 'views', (rt.inst as any[]).map((p) => p.view).join(','), 'highQC', (rt.inst as any[]).map((p) => p.highQC.view).join(','));
console.log('violations', rt.violations.slice(0, 5));
console.log(after.every((h, i) => h === before[i]) ? 'LIVENESS BROKEN: no block finalized in 30 s after GST' : 'progress');
