// The attack x defence matrix of issue 18, the pure part: which runs make a cell, the seeded
// bootstrap interval of the extracted value, the per-cell figures, the goals, the table and the JSON
// summary. No I/O and no clock: fairness.ts runs the simulations and feeds their figures in here.
import { FAIRNESS_DEFENCES, type FairnessDefence } from '@bftx/agents';
import { ORDERING_ATTACKS, Rng, type OrderingAttackKind } from '@bftx/sim';
import Table from 'cli-table3';

// The lists are the simulator's attacks and the harness's defences: one definition each.
export const ATTACKS = ORDERING_ATTACKS;
export type Attack = OrderingAttackKind;
export const DEFENCES = FAIRNESS_DEFENCES;
export type Defence = FairnessDefence;

/** One simulation of the matrix. `attack: 'none'` is the baseline: the coalition's replicas honest, same agents. */
export interface MatrixJob {
  readonly protocol: string;
  readonly attack: Attack | 'none';
  readonly defence: Defence;
  readonly seed: number;
  /**
   * 'client': the coalition's replicas honest, its desk sending the same reactions as a plain client
   * (runFairness's `coalition: 'client'`). Absent: the coalition uses its replicas' powers.
   */
  readonly coalition?: 'client';
}

/** What the matrix reads from one run of runFairness (its `blocks` stay out: the bench does not need them). */
export interface RunFigures {
  /** The coalition's PnL marked to the fundamental, quote minor units. */
  readonly attackerPnl: number | bigint;
  readonly victimSlippage: number | bigint;
  /** Blocks from the time f+1 honest replicas had an order to its inclusion, per order. */
  readonly censorshipDelays: readonly number[];
  readonly fairnessViolations: number;
  /** Submit to final, per order. */
  readonly latencyMs: readonly number[];
  readonly finalizedOrders: number;
  /** One tick times the attacked (victim) volume, quote minor units: the bound on |EV| under both defences. Optional: the harness may not report it. */
  readonly oneTickOnAttackedVolume?: number | bigint;
}

export const jobKey = (j: MatrixJob): string => `${j.protocol}|${j.attack}|${j.defence}|${j.seed}${j.coalition === 'client' ? '|client' : ''}`;

/**
 * Every run the matrix needs, each once: for each protocol, the undefended baseline (leader order,
 * no attack) first, since every cell compares with it, then per defence its baseline and its attacks.
 * The same seeds in every cell. With `powers`, each attack run also as a client-only coalition.
 */
export function matrixJobs(protocols: readonly string[], seeds: readonly number[], attacks: readonly Attack[] = ATTACKS, defences: readonly Defence[] = DEFENCES, powers = false): MatrixJob[] {
  const jobs: MatrixJob[] = [];
  for (const protocol of protocols) {
    const ds: Defence[] = ['leader', ...defences.filter((d) => d !== 'leader')];
    for (const defence of ds) {
      const mine = defences.includes(defence) ? attacks : [];
      for (const attack of ['none' as const, ...mine]) for (const seed of seeds) jobs.push({ protocol, attack, defence, seed });
      if (powers) for (const attack of mine) for (const seed of seeds) jobs.push({ protocol, attack, defence, seed, coalition: 'client' });
    }
  }
  return jobs;
}

/** The runs one cell's figures need: its own, its defence's baseline, and the undefended baseline. */
export function cellJobs(protocol: string, attack: Attack, defence: Defence, seeds: readonly number[], powers = false): MatrixJob[] {
  const set = new Map<string, MatrixJob>();
  for (const seed of seeds) {
    const js: MatrixJob[] = [{ protocol, attack, defence, seed }, { protocol, attack: 'none', defence, seed }, { protocol, attack: 'none', defence: 'leader', seed }];
    if (powers) js.push({ protocol, attack, defence, seed, coalition: 'client' });
    for (const j of js) set.set(jobKey(j), j);
  }
  return [...set.values()];
}

/** The q-quantile (0..1) of ascending `sorted`, linear between order statistics (R's type 7). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) throw new RangeError('quantile of no values');
  if (!(q >= 0 && q <= 1)) throw new RangeError(`quantile: q must be in [0, 1], got ${q}`);
  const h = (sorted.length - 1) * q;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (h - lo) * (sorted[hi]! - sorted[lo]!);
}

export interface Interval {
  readonly mean: number;
  readonly lo: number;
  readonly hi: number;
}

/**
 * The mean of `values` with a percentile bootstrap interval: `resamples` resamples with
 * replacement drawn from a generator seeded with `seed` (the same inputs give the same interval).
 */
export function bootstrapMean(values: readonly number[], options: { readonly seed: number; readonly resamples?: number; readonly level?: number }): Interval {
  const { seed, resamples = 2000, level = 0.95 } = options;
  if (values.length === 0) throw new RangeError('bootstrapMean of no values');
  if (!(level > 0 && level < 1)) throw new RangeError(`bootstrapMean: level must be in (0, 1), got ${level}`);
  if (!(Number.isSafeInteger(resamples) && resamples > 0)) throw new RangeError(`bootstrapMean: resamples must be a positive whole number, got ${resamples}`);
  for (const v of values) if (!Number.isFinite(v)) throw new RangeError(`bootstrapMean: ${v} is not a finite number`);
  const n = values.length;
  const mean = values.reduce((a, b) => a + b, 0) / n;
  const rng = new Rng(seed);
  const means = new Array<number>(resamples);
  for (let r = 0; r < resamples; r++) {
    let sum = 0;
    for (let i = 0; i < n; i++) sum += values[rng.int(0, n - 1)]!;
    means[r] = sum / n;
  }
  means.sort((a, b) => a - b);
  const tail = (1 - level) / 2;
  return { mean, lo: quantile(means, tail), hi: quantile(means, 1 - tail) };
}

/** The goals of issue 18, checked per cell; `applies: false` where a goal does not concern the cell's defence. */
export interface Goal {
  readonly name: string;
  readonly applies: boolean;
  readonly pass: boolean;
  readonly detail: string;
}

export interface Cell {
  readonly protocol: string;
  readonly attack: Attack;
  readonly defence: Defence;
  readonly seeds: number;
  /** Extracted value per seed: attackerPnl(attack) - attackerPnl('none'), same seed and defence; quote minor units. */
  readonly evPerSeed: readonly number[];
  readonly ev: Interval;
  /**
   * With `powers`: per seed, attackerPnl(attack) - attackerPnl(attack, coalition 'client'), and its
   * interval: what the replicas' ordering powers are worth beyond seeing orders before they are final.
   */
  readonly evPowersPerSeed?: readonly number[];
  readonly evPowers?: Interval;
  /** Mean over seeds of the victim's slippage under the attack, and its excess over the same seed without the attack. */
  readonly victimSlippage: number;
  readonly victimSlippageExcess: number;
  readonly censorshipDelayP99: number;
  readonly censorshipDelayMax: number;
  /** Over all seeds. */
  readonly fairnessViolations: number;
  readonly latencyP50Ms: number;
  readonly latencyP99Ms: number;
  /** Latency p50 of the undefended honest run (leader order, no attack), same seeds. */
  readonly undefendedLatencyP50Ms: number;
  /** Finalized orders over those of the undefended honest run (leader order, no attack), same seeds: the throughput goal's ratio. */
  readonly throughputRatio: number;
  /** Finalized orders over those of the same defence without the attack, same seeds: what the attack costs. */
  readonly throughputRatioVsNoAttack: number;
  /** Mean over seeds of one tick times the attacked volume, when the harness reports it. */
  readonly evBound: number | undefined;
  readonly goals: readonly Goal[];
  readonly pass: boolean;
}

export interface GoalSettings {
  /** One message delay (the protocols' delta), ms: the latency goal's allowance. */
  readonly messageDelayMs: number;
  /** Most blocks an order may wait once f+1 honest replicas have it. */
  readonly maxCensorshipBlocks?: number;
  /** Least throughput against the undefended run. */
  readonly minThroughputRatio?: number;
}

const num = (x: number | bigint): number => (typeof x === 'bigint' ? Number(x) : x);
const mean = (xs: readonly number[]): number => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0);
const sum = (xs: readonly number[]): number => xs.reduce((a, b) => a + b, 0);
const sorted = (xs: readonly number[]): number[] => [...xs].sort((a, b) => a - b);
const ratio = (a: number, b: number): number => (b === 0 ? (a === 0 ? 1 : Infinity) : a / b);

/** A deterministic bootstrap seed per cell, so each cell's interval is reproducible on its own. */
export function cellSeed(protocol: string, attack: string, defence: string): number {
  let h = 0x811c9dc5;
  for (const ch of `${protocol}|${attack}|${defence}`) h = Math.imul(h ^ ch.charCodeAt(0), 0x01000193) >>> 0;
  return h;
}

/**
 * One cell's figures and goals from the runs of `cellJobs(protocol, attack, defence, seeds)`.
 * `figures(job)` returns a run's figures; a missing run is an error.
 */
export function aggregateCell(protocol: string, attack: Attack, defence: Defence, seeds: readonly number[], figures: (job: MatrixJob) => RunFigures | undefined, goals: GoalSettings, options: { readonly resamples?: number; readonly powers?: boolean } = {}): Cell {
  const resamples = options.resamples ?? 2000;
  if (seeds.length === 0) throw new RangeError('aggregateCell: no seeds');
  const get = (j: MatrixJob): RunFigures => {
    const f = figures(j);
    if (f === undefined) throw new Error(`aggregateCell: no run for ${jobKey(j)}`);
    return f;
  };
  const mine = seeds.map((seed) => get({ protocol, attack, defence, seed }));
  const base = seeds.map((seed) => get({ protocol, attack: 'none', defence, seed }));
  const undefended = seeds.map((seed) => get({ protocol, attack: 'none', defence: 'leader', seed }));
  const evPerSeed = mine.map((m, k) => num(m.attackerPnl) - num(base[k]!.attackerPnl));
  const ev = bootstrapMean(evPerSeed, { seed: cellSeed(protocol, attack, defence), resamples });
  const evPowersPerSeed = options.powers ? mine.map((m, k) => num(m.attackerPnl) - num(get({ protocol, attack, defence, seed: seeds[k]!, coalition: 'client' }).attackerPnl)) : undefined;
  const powers = evPowersPerSeed ? { evPowersPerSeed, evPowers: bootstrapMean(evPowersPerSeed, { seed: cellSeed(protocol, attack, `${defence}|powers`), resamples }) } : {};
  const delays = sorted(mine.flatMap((m) => m.censorshipDelays));
  const latency = sorted(mine.flatMap((m) => m.latencyMs));
  const refLatency = sorted(undefended.flatMap((m) => m.latencyMs));
  const bounds = mine.map((m) => m.oneTickOnAttackedVolume).filter((b): b is number | bigint => b !== undefined);
  const cell = {
    protocol,
    attack,
    defence,
    seeds: seeds.length,
    evPerSeed,
    ev,
    ...powers,
    victimSlippage: mean(mine.map((m) => num(m.victimSlippage))),
    victimSlippageExcess: mean(mine.map((m, k) => num(m.victimSlippage) - num(base[k]!.victimSlippage))),
    censorshipDelayP99: delays.length ? quantile(delays, 0.99) : 0,
    censorshipDelayMax: delays.length ? delays[delays.length - 1]! : 0,
    fairnessViolations: sum(mine.map((m) => m.fairnessViolations)),
    latencyP50Ms: latency.length ? quantile(latency, 0.5) : NaN,
    latencyP99Ms: latency.length ? quantile(latency, 0.99) : NaN,
    undefendedLatencyP50Ms: refLatency.length ? quantile(refLatency, 0.5) : NaN,
    throughputRatio: ratio(sum(mine.map((m) => m.finalizedOrders)), sum(undefended.map((m) => m.finalizedOrders))),
    throughputRatioVsNoAttack: ratio(sum(mine.map((m) => m.finalizedOrders)), sum(base.map((m) => m.finalizedOrders))),
    evBound: bounds.length === mine.length ? mean(bounds.map(num)) : undefined,
  };
  const g = checkGoals(cell, goals);
  return { ...cell, goals: g, pass: g.every((x) => !x.applies || x.pass) };
}

/**
 * The goals of issue 18 as this bench reads them:
 * - leader order (today): the attack is real, the interval of the extracted value lies above 0 (censor: or the
 *   censored orders wait longer than the defences' bound, since censoring harms by delay, not by the coalition's PnL);
 * - both defences together: the interval contains 0 and |mean| is below one tick times the attacked volume;
 * - leader-proof ordering (alone or with batch): an order waits at most 2 blocks once f+1 honest replicas have it
 *   (a batch alone does not stop a leader leaving orders out, so it is not held to this);
 * - every defence: latency p50 at most one message delay above the undefended honest run, and
 *   throughput at least 0.9 of it.
 */
export function checkGoals(c: Omit<Cell, 'goals' | 'pass'>, s: GoalSettings): Goal[] {
  const maxBlocks = s.maxCensorshipBlocks ?? 2;
  const minRatio = s.minThroughputRatio ?? 0.9;
  const defended = c.defence !== 'leader';
  const fair = c.defence === 'ordering' || c.defence === 'both';
  const contains0 = c.ev.lo <= 0 && 0 <= c.ev.hi;
  const small = c.evBound === undefined ? undefined : Math.abs(c.ev.mean) < c.evBound;
  return [
    c.attack === 'censor'
      ? // Censoring a client harms by delay, not by the coalition's PnL: the attack is real when the client's orders wait longer than the defences allow.
        { name: 'attack is real', applies: c.defence === 'leader', pass: c.ev.lo > 0 || c.censorshipDelayMax > maxBlocks, detail: `censorship max ${c.censorshipDelayMax} blocks (${c.censorshipDelayMax > maxBlocks ? 'above' : 'not above'} ${maxBlocks}); EV interval [${r2(c.ev.lo)}, ${r2(c.ev.hi)}]` }
      : { name: 'attack is real', applies: c.defence === 'leader', pass: c.ev.lo > 0, detail: `EV interval [${r2(c.ev.lo)}, ${r2(c.ev.hi)}] ${c.ev.lo > 0 ? 'above' : 'not above'} 0` },
    {
      name: 'no value extracted',
      applies: c.defence === 'both',
      pass: contains0 && small !== false,
      detail: `interval ${contains0 ? 'contains' : 'excludes'} 0; |mean| ${r2(Math.abs(c.ev.mean))} ${c.evBound === undefined ? '(bound unknown: the harness reports no attacked volume)' : `${small ? '<' : '>='} one tick x attacked volume ${r2(c.evBound)}`}${c.evPowers ? `; beyond a client-only coalition: ${r2(c.evPowers.mean)} [${r2(c.evPowers.lo)}, ${r2(c.evPowers.hi)}]` : ''}`,
    },
    { name: `censorship <= ${maxBlocks} blocks`, applies: fair, pass: c.censorshipDelayMax <= maxBlocks, detail: `max ${c.censorshipDelayMax}, p99 ${r2(c.censorshipDelayP99)} blocks` },
    { name: 'latency p50 <= undefended + 1 delay', applies: defended, pass: c.latencyP50Ms <= c.undefendedLatencyP50Ms + s.messageDelayMs, detail: `${r2(c.latencyP50Ms)} ms vs ${r2(c.undefendedLatencyP50Ms)} + ${s.messageDelayMs} ms` },
    { name: `throughput >= ${minRatio} undefended`, applies: defended, pass: c.throughputRatio >= minRatio, detail: `${r2(c.throughputRatio)} of the undefended honest run` },
  ];
}

function r2(x: number): number {
  return Number.isFinite(x) ? Math.round(x * 100) / 100 : x;
}

/** A short mark per goal for the table: pass / FAIL / '-' where the goal does not apply. */
function marks(c: Cell): string {
  const applied = c.goals.filter((g) => g.applies);
  if (applied.length === 0) return '-';
  return applied.map((g) => `${g.pass ? 'pass' : 'FAIL'} ${g.name}`).join('\n');
}

export function renderCells(cells: readonly Cell[]): string {
  const multi = new Set(cells.map((c) => c.protocol)).size > 1;
  const table = new Table({
    head: [...(multi ? ['protocol'] : []), 'attack', 'defence', 'EV mean [95% CI] (minor units)', 'victim slippage (+ vs no attack)', 'censorship p99 / max (blocks)', 'fairness violations', 'latency p50 / p99 (ms)', 'throughput vs undefended / vs no attack', 'goals'],
    style: { head: [], border: [] },
  });
  for (const c of cells) {
    table.push([
      ...(multi ? [c.protocol] : []),
      c.attack,
      c.defence,
      `${fmt(c.ev.mean)} [${fmt(c.ev.lo)}, ${fmt(c.ev.hi)}]${c.evPowers ? `\npowers: ${fmt(c.evPowers.mean)} [${fmt(c.evPowers.lo)}, ${fmt(c.evPowers.hi)}]` : ''}`,
      `${fmt(c.victimSlippage)} (${c.victimSlippageExcess >= 0 ? '+' : ''}${fmt(c.victimSlippageExcess)})`,
      `${fmt(c.censorshipDelayP99)} / ${c.censorshipDelayMax}`,
      c.fairnessViolations,
      `${fmt(c.latencyP50Ms)} / ${fmt(c.latencyP99Ms)}`,
      `${r2(c.throughputRatio)} / ${r2(c.throughputRatioVsNoAttack)}`,
      marks(c),
    ]);
  }
  return table.toString();
}

function fmt(x: number): string {
  return Number.isFinite(x) ? r2(x).toLocaleString('en-US', { maximumFractionDigits: 2 }) : String(x);
}

/** The summary line issue 18 specifies (cells' own fields first, in its order; `protocol` and `pass` added). */
export function summaryJson(cells: readonly Cell[], extra: Record<string, unknown> = {}): string {
  return JSON.stringify({
    suite: 'fairness',
    cells: cells.map((c) => ({
      attack: c.attack,
      defence: c.defence,
      ev: { mean: r2(c.ev.mean), lo: r2(c.ev.lo), hi: r2(c.ev.hi) },
      censorshipDelayMax: c.censorshipDelayMax,
      fairnessViolations: c.fairnessViolations,
      latencyP50Ms: r2(c.latencyP50Ms),
      throughputRatio: r2(c.throughputRatio),
      protocol: c.protocol,
      pass: c.pass,
      ...(c.evPowers ? { evPowers: { mean: r2(c.evPowers.mean), lo: r2(c.evPowers.lo), hi: r2(c.evPowers.hi) } } : {}),
    })),
    ...extra,
  });
}

export interface MatrixOptions {
  readonly protocols: readonly string[];
  readonly seeds: readonly number[];
  readonly attacks?: readonly Attack[];
  readonly defences?: readonly Defence[];
  /** Runs one simulation (in this process or another). */
  readonly execute: (job: MatrixJob) => Promise<RunFigures>;
  /** Runs in flight at once. */
  readonly concurrency: number;
  readonly goals: GoalSettings;
  readonly resamples?: number;
  /** Also run each attack with a client-only coalition, for the EV of ordering powers (`Cell.evPowers`). */
  readonly powers?: boolean;
  /** Told each cell as soon as all its runs are in (completion order). */
  readonly onCell?: (cell: Cell, done: number, total: number) => void;
}

/** Runs every job of the matrix, at most `concurrency` at once, and returns its cells (protocol, attack, then defence order). */
export async function runMatrix(o: MatrixOptions): Promise<Cell[]> {
  const attacks = o.attacks ?? ATTACKS;
  const defences = o.defences ?? DEFENCES;
  if (!(Number.isSafeInteger(o.concurrency) && o.concurrency >= 1)) throw new RangeError(`runMatrix: concurrency must be a whole number >= 1, got ${o.concurrency}`);
  const jobs = matrixJobs(o.protocols, o.seeds, attacks, defences, o.powers);
  const results = new Map<string, RunFigures>();
  const pending = o.protocols.flatMap((protocol) => attacks.flatMap((attack) => defences.map((defence) => ({ protocol, attack, defence, needs: cellJobs(protocol, attack, defence, o.seeds, o.powers).map(jobKey) }))));
  const cells = new Map<string, Cell>();
  const total = pending.length;
  const finishCells = () => {
    const ready = pending.filter((p) => p.needs.every((k) => results.has(k)));
    for (const p of ready) {
      pending.splice(pending.indexOf(p), 1);
      const cell = aggregateCell(p.protocol, p.attack, p.defence, o.seeds, (j) => results.get(jobKey(j)), o.goals, { resamples: o.resamples, powers: o.powers });
      cells.set(`${p.protocol}|${p.attack}|${p.defence}`, cell);
      o.onCell?.(cell, cells.size, total);
    }
  };
  let next = 0;
  const lane = async (): Promise<void> => {
    while (next < jobs.length) {
      const job = jobs[next++]!;
      results.set(jobKey(job), await o.execute(job));
      finishCells();
    }
  };
  await Promise.all(Array.from({ length: Math.min(o.concurrency, jobs.length) }, lane));
  return o.protocols.flatMap((protocol) => attacks.flatMap((attack) => defences.map((defence) => cells.get(`${protocol}|${attack}|${defence}`)!)));
}
