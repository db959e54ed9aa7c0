// A block larger than 16 MiB (a valid block: up to 10,000 txs of 64 KiB; an honest leader builds one from
// 1,000 client txs, the default maxBlockTxs, as the mempool limits count, not bytes): the safety state always
// keeps its first block body whatever the budget, as codec.bytes() (max 16 MiB): does persist throw?
// usage: node --conditions=@bftx/source --import tsx huge-block-persist.ts [txs] [txBytes] [restart]
import { World } from './rt';

const txs = Number(process.argv[2] ?? 300);
const txBytes = Number(process.argv[3] ?? 60_000);
const n = 4, delta = 10, L = 2 * delta + 1;
const crashLoop = process.argv[4] === 'restart'; // treat a throw as a crash, restart one view later
const w = new World({ n, byz: [], delta, gst: 0, seed: 3, delay: () => delta, throwAsCrash: crashLoop });
w.start();
w.at(5, () => w.offer(Array.from({ length: txs }, (_, i) => { const b = new Uint8Array(txBytes); b[0] = i & 255; b[1] = i >> 8; return b; })));
let k = 0;
for (let t = L + 3; t < 40 * L; t += L) w.at(t, () => w.offer([new Uint8Array([k & 255, (k++ >> 8) & 255, 9])]));
try {
  w.runUntil(40 * L);
  w.checkAgreement();
  if (crashLoop) console.log(`throws: ${w.throws.length}, first: ${w.throws.slice(0, 4).join(' | ')}`);
  console.log('RESULT: no exception escaped; heights', w.heights(), 'maxPersist', w.reps.map((r) => r.maxPersist), 'violations', w.violations.slice(0, 3));
} catch (e) {
  console.log(`RESULT: Protocol.step THREW at t=${w.now} (view ${Math.floor(w.now / L)}): ${(e as Error).constructor.name}: ${(e as Error).message.slice(0, 200)}`);
  console.log('heights', w.heights());
}
