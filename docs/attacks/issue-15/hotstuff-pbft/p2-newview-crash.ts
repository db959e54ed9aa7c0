// PBFT: the new primary crashes after persisting its entry into the new view but before NEW-VIEW
// leaves (currentNewView is not persisted, so it can never re-send it). Does the cluster recover?
import { pbft } from '@bftx/pbft';
import { Runtime, Rng, randNet } from './rt.ts';
const seed = Number(process.argv[2] ?? 1), n = Number(process.argv[3] ?? 4);
const delta = 10, rng = new Rng(seed);
const rt = new Runtime(pbft(), n, delta, randNet(rng, delta, 0));
for (let i = 0; i < n; i++) rt.start(i);
rt.run(500);
const h0 = rt.heights();
rt.crash(0); // primary of view 0 down for good (f = 1 crash)
let crashed = false;
const wrap = () => { const p: any = rt.inst[1]; const step = p.step.bind(p); p.step = (inp: any) => { const outs = step(inp); const k = outs.findIndex((o: any) => o.type === 'broadcast' && o.message.type === 'new-view'); if (k >= 0 && !crashed) { crashed = true; rt.crashAtStep.set(1, k); console.log('t', rt.now, 'primary 1 crashes right before its NEW-VIEW (prefix', k, ')'); rt.at(rt.now + 5, () => { rt.start(1); }); } return outs; }; };
wrap();
rt.run(20_000);
rt.checkAgreement();
console.log('heights at 0.5 s', h0.join(','), 'at 20 s', rt.heights().join(','), 'views', (rt.inst as any[]).map((p) => p?.view ?? '-').join(','), 'violations', rt.violations.slice(0, 2));
