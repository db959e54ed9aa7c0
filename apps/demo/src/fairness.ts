// The fairness scenario (issue 18): a reduced attack x defence matrix on the simulated cluster,
// its value extracted as a chart with intervals, and one sandwich traced block by block under
// leader order and under each defence. The full matrix (20 seeds, goals checked) is
// `npx nx run bench:fairness`; this is the demo's few-seed view of it.
import { runFairness } from '@bftx/agents';
import { Rng } from '@bftx/sim';
import { intervalChart, type ReportSection, type ReportTable } from '@bftx/viz';
import { PROTOCOLS, type ProtocolName } from './options';
import type { Outcome, Progress } from './scenarios';

// The simulator's attacks and the harness's defences, named once there.
export { ORDERING_ATTACKS as FAIRNESS_ATTACKS, type OrderingAttackKind as FairnessAttack } from '@bftx/sim';
export { FAIRNESS_DEFENCES, type FairnessDefence } from '@bftx/agents';
import type { FairnessDefence } from '@bftx/agents';
import type { OrderingAttackKind as FairnessAttack } from '@bftx/sim';

const DEFENCE_NAMES: Record<FairnessDefence, string> = { leader: 'leader order (today)', ordering: 'leader-proof ordering', batch: 'uniform-price batch', both: 'ordering + batch' };

export interface FairnessSettings {
  readonly protocol: ProtocolName;
  /** The first seed; the runs use seed .. seed + seeds - 1, the same in every cell. */
  readonly seed: number;
  readonly seeds: number;
  readonly attacks: readonly FairnessAttack[];
  readonly defences: readonly FairnessDefence[];
  /** Virtual session length per run, ms. */
  readonly duration: number;
  readonly nodes?: number;
  readonly delta?: number;
}

type RunResult = ReturnType<typeof runFairness>;
type Block = RunResult['blocks'][number];

/**
 * The mean over seeds with a 95% percentile bootstrap interval (2,000 resamples, seeded: the same
 * runs give the same interval). The method of apps/bench's bootstrapMean (fairness-matrix.ts): apps
 * share no code, so the few lines are repeated here.
 */
export function meanInterval(values: readonly number[], seed: number): { mean: number; lo: number; hi: number } {
  if (values.length === 0) throw new RangeError('meanInterval of no values');
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const rng = new Rng(seed);
  const means: number[] = [];
  for (let r = 0; r < 2000; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[rng.int(0, n - 1)]!;
    means.push(sum / n);
  }
  means.sort((a, b) => a - b);
  const q = (p: number) => {
    const h = (means.length - 1) * p;
    const lo = Math.floor(h);
    return means[lo]! + (h - lo) * (means[Math.min(lo + 1, means.length - 1)]! - means[lo]!);
  };
  return { mean, lo: Math.min(q(0.025), mean), hi: Math.max(q(0.975), mean) };
}

const fmt = (x: number) => x.toLocaleString('en-US');
const num = (x: number | bigint) => (typeof x === 'bigint' ? Number(x) : x);
const r1 = (x: number) => Math.round(x * 10) / 10;
const p50 = (xs: readonly number[]) => {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const h = (s.length - 1) / 2;
  return s[Math.floor(h)]! + (h - Math.floor(h)) * (s[Math.ceil(h)]! - s[Math.floor(h)]!);
};

interface FairnessCell {
  readonly attack: FairnessAttack;
  readonly defence: FairnessDefence;
  readonly ev: { mean: number; lo: number; hi: number };
  readonly evPerSeed: number[];
  readonly victimSlippage: number;
  readonly censorshipDelayMax: number;
  readonly fairnessViolations: number;
  readonly latencyP50Ms: number;
  readonly throughputRatio: number;
}

/** What a cell's interval says, in words. */
function verdict(c: FairnessCell): string {
  if (c.evPerSeed.length < 2) return 'one seed: no interval';
  if (c.ev.lo > 0) return 'value extracted (interval above 0)';
  if (c.ev.hi < 0) return 'the attack loses (interval below 0)';
  return 'no value extracted at these seeds (interval contains 0)';
}

export function fairnessScenario(s: FairnessSettings, progress?: Progress): Outcome {
  if (s.attacks.length === 0 || s.defences.length === 0) throw new RangeError('fairness: at least one attack and one defence');
  const seeds = Array.from({ length: s.seeds }, (_, k) => s.seed + k);
  const defences: FairnessDefence[] = ['leader', ...s.defences.filter((d) => d !== 'leader')];
  const runs = new Map<string, RunResult>();
  const key = (attack: string, defence: string, seed: number) => `${attack}|${defence}|${seed}`;
  const jobs = defences.flatMap((defence) => ['none' as const, ...(s.defences.includes(defence) ? s.attacks : [])].flatMap((attack) => seeds.map((seed) => ({ attack, defence, seed }))));
  const t0 = performance.now();
  progress?.start(jobs.length, `fairness matrix (${s.protocol})`);
  jobs.forEach((j, k) => {
    runs.set(key(j.attack, j.defence, j.seed), runFairness({ protocol: PROTOCOLS[s.protocol](), attack: j.attack, defence: j.defence, seed: j.seed, duration: s.duration, ...(s.nodes !== undefined ? { n: s.nodes } : {}), ...(s.delta !== undefined ? { delta: s.delta } : {}) }));
    progress?.update(k + 1);
  });
  progress?.stop();
  const wallMs = performance.now() - t0;
  const get = (attack: string, defence: string, seed: number) => runs.get(key(attack, defence, seed))!;

  const cells: FairnessCell[] = s.attacks.flatMap((attack, a) =>
    s.defences.map((defence, d) => {
      const mine = seeds.map((seed) => get(attack, defence, seed));
      const evPerSeed = seeds.map((seed, k) => num(mine[k]!.attackerPnl) - num(get('none', defence, seed).attackerPnl));
      const undefended = seeds.reduce((acc, seed) => acc + get('none', 'leader', seed).finalizedOrders, 0);
      return {
        attack,
        defence,
        ev: meanInterval(evPerSeed, 1 + a * 16 + d),
        evPerSeed,
        victimSlippage: mine.reduce((acc, m) => acc + num(m.victimSlippage), 0) / mine.length,
        censorshipDelayMax: Math.max(0, ...mine.flatMap((m) => m.censorshipDelays)),
        fairnessViolations: mine.reduce((acc, m) => acc + m.fairnessViolations, 0),
        latencyP50Ms: p50(mine.flatMap((m) => m.latencyMs)),
        throughputRatio: undefended === 0 ? NaN : mine.reduce((acc, m) => acc + m.finalizedOrders, 0) / undefended,
      };
    }),
  );

  const matrixTable: ReportTable = {
    head: ['attack', 'defence', 'value extracted, mean [95% interval] (quote minor units)', 'verdict', 'victim slippage (mean)', 'censorship delay max (blocks)', 'fairness violations', 'latency p50 (ms)', 'throughput vs undefended'],
    rows: cells.map((c) => [c.attack, DEFENCE_NAMES[c.defence], `${r1(c.ev.mean)} [${r1(c.ev.lo)}, ${r1(c.ev.hi)}]`, verdict(c), r1(c.victimSlippage), c.censorshipDelayMax, c.fairnessViolations, r1(c.latencyP50Ms), c.throughputRatio.toFixed(2)]),
  };
  const sections: ReportSection[] = [
    {
      title: 'Value extracted per attack and defence',
      text: `A Byzantine coalition (f of ${s.nodes ?? 4} ${s.protocol} replicas) attacks a victim sending large marketable orders. Value extracted: the coalition's PnL (marked to the fundamental) with the attack minus its PnL honest, same seed and defence; mean over seeds ${seeds[0]}..${seeds[seeds.length - 1]} (sessions of ${fmt(s.duration / 1000)} s of virtual time) with a 95% bootstrap interval. Leader order is today's system; leader-proof ordering makes the block follow the replicas' signed receive logs; a uniform-price batch clears each block at one price, so order within a block is worth nothing. What no defence prevents: every replica sees orders before they are final, and whoever runs one can trade on them as a fast client, across blocks; value taken that way remains under every defence (\`npx nx run bench:fairness --powers\` separates it from what ordering powers add). With ${s.seeds} seed(s) an interval is wide: \`npx nx run bench:fairness\` runs 20 per cell and checks the goals.`,
      charts: [{ id: 'fairness-ev', option: intervalChart(cells.map((c) => ({ group: c.attack, series: DEFENCE_NAMES[c.defence], ...c.ev })), { title: 'Value extracted by the coalition, per attack and defence (95% interval)', yName: 'quote minor units' }), height: 460, caption: 'Each bar spans the 95% bootstrap interval of the mean over seeds, the tick is the mean; the dashed line is 0 (nothing extracted).' }],
    },
    { title: 'The matrix', tables: [matrixTable] },
  ];

  const sandwichTrace: object[] = [];
  if (s.attacks.includes('sandwich')) {
    const traced = s.defences.map((defence) => ({ defence, blocks: get('sandwich', defence, seeds[0]!).blocks }));
    sections.push({
      title: 'One sandwich, block by block',
      text: `Seed ${seeds[0]}, under each defence: the first of the victim's large orders that the coalition traded around, with the blocks just before and after it that carry the victim's or the coalition's orders (others' orders in between are counted, not listed). Under leader order a Byzantine leader puts the coalition's buy right before the victim's large buy and its sell right after, in one block, and sells at the victim's limit. Under leader-proof ordering it cannot insert or reorder (honest voters refuse such a block and convict its leader with evidence): its orders go in by their receipt times like anyone's, so it can only race the victim's order as a client. Under a batch every order of a block trades at one clearing price, so its place in the block is worth nothing. The trace (trace.jsonl.gz) has every such block of the run.`,
      tables: traced.map(({ defence, blocks }) => blockTable(defence, sandwichWindow(blocks))),
    });
    for (const { defence, blocks } of traced) for (const b of blocks) sandwichTrace.push({ ev: 'block', attack: 'sandwich', defence, seed: seeds[0], ...b });
  }

  return {
    title: `Fair ordering: ${s.attacks.length} attack(s) x ${s.defences.length} defence(s), ${s.protocol}, ${s.seeds} seed(s)`,
    failure: undefined,
    table: [
      ['protocol / replicas', `${s.protocol} / ${s.nodes ?? 4}`],
      ['seeds (the same in every cell)', `${seeds[0]}..${seeds[seeds.length - 1]}`],
      ['session per run (virtual)', `${fmt(s.duration / 1000)} s`],
      ...cells.map((c) => [`${c.attack} x ${c.defence}`, `value ${r1(c.ev.mean)} [${r1(c.ev.lo)}, ${r1(c.ev.hi)}]: ${verdict(c)}; censorship max ${c.censorshipDelayMax} block(s), ${c.fairnessViolations} violation(s), throughput ${c.throughputRatio.toFixed(2)}`] as [string, string]),
      ['runs / wall time', `${jobs.length} / ${(wallMs / 1000).toFixed(1)} s`],
    ],
    summary: {
      scenario: 'fairness',
      protocol: s.protocol,
      seeds,
      duration_ms: s.duration,
      cells: cells.map((c) => ({ attack: c.attack, defence: c.defence, ev: { mean: r1(c.ev.mean), lo: r1(c.ev.lo), hi: r1(c.ev.hi) }, evPerSeed: c.evPerSeed, victimSlippage: r1(c.victimSlippage), censorshipDelayMax: c.censorshipDelayMax, fairnessViolations: c.fairnessViolations, latencyP50Ms: r1(c.latencyP50Ms), throughputRatio: Number(c.throughputRatio.toFixed(3)) })),
      wall_ms: Math.round(wallMs),
    },
    sections,
    trace: sandwichTrace,
  };
}

const who = (order: string) => order.split(' ')[0];

/**
 * The blocks around one attacked victim order: the first block with a victim order placed and a
 * coalition order in it or in a neighbouring block, with one block before and two after (of the
 * blocks that carry the victim's or the coalition's orders). The first blocks when none is attacked.
 */
export function sandwichWindow(blocks: readonly Block[]): Block[] {
  const has = (b: Block | undefined, w: string, placed = false) => b !== undefined && b.orders.some((o) => who(o) === w && (!placed || / (buy|sell) /.test(o)));
  const i = blocks.findIndex((b, k) => has(b, 'victim', true) && (has(b, 'attacker') || has(blocks[k - 1], 'attacker') || has(blocks[k + 1], 'attacker')));
  return i < 0 ? blocks.slice(0, 4) : blocks.slice(Math.max(0, i - 1), i + 3);
}

/** A block's orders in block order, the coalition's and the victim's spelled out, runs of others' orders counted. */
export function blockOrders(orders: readonly string[]): string {
  const parts: string[] = [];
  let others = 0;
  const flush = () => {
    if (others > 0) parts.push(`(${others} other${others > 1 ? 's' : ''})`);
    others = 0;
  };
  for (const o of orders) {
    if (who(o) === 'other') others++;
    else {
      flush();
      parts.push(o);
    }
  }
  flush();
  return parts.join(' → ');
}

function blockTable(defence: FairnessDefence, blocks: readonly Block[]): ReportTable {
  return {
    head: [`${DEFENCE_NAMES[defence]}: height`, 'proposer', 'orders in block order', 'trade prices', 'last (clearing) price'],
    rows: blocks.map((b) => [b.height, `r${b.proposer}${b.byzantineProposer ? ' (coalition)' : ''}`, blockOrders(b.orders), b.prices.join(' ') || '-', b.clearingPrice ?? '-']),
  };
}
