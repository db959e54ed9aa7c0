// HotStuff: fetch requests are answered without any rate limit (PBFT limits answers per peer to a
// burst of 4, then one per delta). One Byzantine replica sending tiny `fetch` messages makes an
// honest replica send ANSWER_BLOCKS=64 certified blocks per request: bandwidth/CPU amplification.
import { hotstuff } from '@bftx/hotstuff';
import { pbft } from '@bftx/pbft';
import { Runtime, Rng, randNet } from './rt.ts';
const proto = process.argv[2] ?? 'hotstuff', count = Number(process.argv[3] ?? 1000);
const n = 4, delta = 10, B = 3;
const def: any = proto === 'pbft' ? pbft() : hotstuff();
const rt = new Runtime(def, n, delta, randNet(new Rng(1), delta, 0), {});
for (let i = 0; i < n; i++) rt.start(i);
rt.run(3000);
const target: any = rt.inst[0];
let outBytes = 0, inBytes = 0, answers = 0;
rt.onSend = (from, to, m) => { if (from === 0 && to === B && (m.type === 'block' || m.type === 'committed')) { outBytes += def.encodeMessage(m).length; answers++; } };
const t0 = Date.now();
for (let k = 0; k < count; k++) {
  const m = proto === 'pbft' ? { type: 'fetch', fromSeq: 1 } : { type: 'fetch', blockHash: target.highQC.blockHash, above: 0 };
  inBytes += def.encodeMessage(m).length;
  rt.inject(B, 0, m, 0);
  rt.run(rt.now); // all at the same instant
}
console.log(proto, `${count} fetch requests (${inBytes} bytes) from Byzantine replica ${B} within one instant -> ${answers} answers, ${outBytes} bytes sent by honest replica 0 (x${(outBytes / inBytes).toFixed(0)}), ${Date.now() - t0} ms CPU`);
