// What leader-proof ordering adds to blocks: the receive logs a block carries, in bytes per block and
// per finalized transaction, for HotStuff and PBFT at n = 4 and 16, two rates and two deltas.
// Transactions of 150 bytes (about a signed order) reach each replica 0..delta-1 ms apart.
// `npm run fairness:bytes -w @bftx/bench-app`; the last line is a JSON summary.
import { fairOrdering, isLogElement, type Protocol, type ProtocolConfig, type ProtocolDefinition } from '@bftx/consensus';
import { hotstuff } from '@bftx/hotstuff';
import { pbft } from '@bftx/pbft';
import { Rng, simulate, synchronous } from '@bftx/sim';
import Table from 'cli-table3';

interface Counts {
  blocks: number;
  logBytes: number;
  logs: number;
  txBytes: number;
  txs: number;
}

/** `def` with replica 0's finalized blocks counted (log elements apart from transactions). */
function counted<M>(def: ProtocolDefinition<M>, counts: Counts): ProtocolDefinition<M> {
  return {
    ...def,
    create(config: ProtocolConfig): Protocol<M> {
      const p = def.create(config);
      if (config.self !== 0) return p;
      return {
        self: p.self,
        step(input) {
          const out = p.step(input);
          for (const o of out) {
            if (o.type !== 'commit') continue;
            for (const b of o.blocks) {
              counts.blocks++;
              for (const e of b.payload) {
                if (isLogElement(e)) {
                  counts.logBytes += e.length;
                  counts.logs++;
                } else {
                  counts.txBytes += e.length;
                  counts.txs++;
                }
              }
            }
          }
          return out;
        },
      };
    },
  };
}

const rows: Array<Record<string, number | string>> = [];
const table = new Table({ head: ['protocol', 'n', 'tx/s', 'delta ms', 'blocks', 'txs', 'logs per block', 'log bytes per block', 'tx bytes per block', 'log bytes per tx'] });
for (const [name, make] of [
  ['hotstuff', () => hotstuff()],
  ['pbft', () => pbft()],
] as const) {
  for (const n of [4, 16]) {
    for (const rate of [200, 1000]) {
      for (const delta of [10, 100]) {
        const counts: Counts = { blocks: 0, logBytes: 0, logs: 0, txBytes: 0, txs: 0 };
        const rng = new Rng(1);
        const duration = 5_000;
        const workload: Array<{ at: number; txs: Uint8Array[]; to: number[] }> = [];
        for (let k = 0; k * (1000 / rate) < duration - 1_000; k++) {
          const tx = new Uint8Array(150);
          tx[0] = 1;
          new DataView(tx.buffer).setUint32(1, k);
          for (let r = 0; r < n; r++) workload.push({ at: Math.floor(10 + (k * 1000) / rate) + rng.int(0, delta - 1), txs: [tx], to: [r] });
        }
        const protocol = counted(fairOrdering(make() as ProtocolDefinition<unknown>), counts);
        simulate({ protocol, n, seed: 1, network: synchronous(delta), timing: { delta }, duration, workload });
        const row = {
          protocol: name,
          n,
          rate,
          delta,
          blocks: counts.blocks,
          txs: counts.txs,
          logsPerBlock: Number((counts.logs / Math.max(1, counts.blocks)).toFixed(1)),
          logBytesPerBlock: Math.round(counts.logBytes / Math.max(1, counts.blocks)),
          txBytesPerBlock: Math.round(counts.txBytes / Math.max(1, counts.blocks)),
          logBytesPerTx: Math.round(counts.logBytes / Math.max(1, counts.txs)),
        };
        rows.push(row);
        table.push(Object.values(row).map(String));
      }
    }
  }
}
console.log(table.toString());
console.log(JSON.stringify({ suite: 'fairness-bytes', rows }));
